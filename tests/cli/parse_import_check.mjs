// Run by tests/cli/test_parse_import.py against an app imported from a real Parse Server's database:
// the official Parse JS SDK logs in with the password set on Parse and reads what Parse wrote.
import assert from 'node:assert/strict';
import Parse from 'parse/node';

Parse.initialize(process.env.APP_ID, process.env.JS_KEY);
Parse.serverURL = process.env.SERVER_URL;
Parse.CoreManager.set('REQUEST_ATTEMPT_LIMIT', 1);

const ada = await Parse.User.logIn('ada', 'lovelace-1815');
assert.equal(ada.get('email'), 'ada@example.com');
await assert.rejects(Parse.User.logIn('ada', 'wrong-password'), (error) => error.code === 101);

const posts = await new Parse.Query('Post').include('author').ascending('title').find({ sessionToken: ada.getSessionToken() });
assert.deepEqual(posts.map((post) => post.get('title')), ['private', 'public']);
const [secret, open] = posts;
assert.equal(secret.get('author').get('username'), 'ada');
assert.equal(secret.get('when').toISOString(), '2020-01-02T03:04:05.678Z');
assert.deepEqual([secret.get('loc').latitude, secret.get('loc').longitude], [10, 20]);
assert.deepEqual(secret.get('tags'), ['a', 1]);
assert.equal(open.get('n'), 3);

// Both fans are related; Parse 9 made each _User row readable by its owner only, and that ACL came along.
const fans = await secret.relation('fans').query().find({ sessionToken: ada.getSessionToken() });
assert.deepEqual(fans.map((user) => user.get('username')), ['ada']);
const file = secret.get('attachment');
const bytes = await (await fetch(file.url())).text();
assert.equal(bytes, 'hello from parse');

// The ACL came along: bob may read the public post only.
const bob = await Parse.User.logIn('bob', 'b0b-secret');
const bobs = await new Parse.Query('Post').find({ sessionToken: bob.getSessionToken() });
assert.deepEqual(bobs.map((post) => post.get('title')), ['public']);
const roles = await new Parse.Query(Parse.Role).equalTo('name', 'Editors').find({ sessionToken: ada.getSessionToken() });
assert.equal(roles.length, 1);
const editors = await roles[0].getUsers().query().find({ sessionToken: ada.getSessionToken() });
assert.deepEqual(editors.map((user) => user.get('username')), ['ada']);
// Logged in on Parse, still logged in: the session token Parse handed out works as it is.
const stillAda = await Parse.User.me(process.env.ADA_PARSE_TOKEN);
assert.equal(stillAda.get('username'), 'ada');
const hers = await new Parse.Query('Post').equalTo('title', 'private').find({ sessionToken: process.env.ADA_PARSE_TOKEN });
assert.equal(hers.length, 1);
const config = await Parse.Config.get();
assert.equal(config.get('greeting'), 'hello');
console.log('imported app checked');
