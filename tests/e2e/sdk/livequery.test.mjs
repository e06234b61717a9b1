// LiveQuery through the SDK's own clients: Parse.Query#subscribe (the default client, whose URL the SDK
// derives from serverURL: ws://host/parse) and Parse.LiveQueryClient for users, other apps and keys.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { APP_ID, FIXTURES, JS_KEY, Parse, SERVER_URL, as, className, master, rest, user, userObject } from './helpers.mjs';

const WS_URL = SERVER_URL.replace(/^http/, 'ws');
const WAIT = 5000;
const QUIET = 400;
const appB = FIXTURES.appB;
const clients = [];

/** A LiveQuery client of its own (no master key unless asked), opened. */
function liveClient({ sessionToken, useMaster = false, applicationId = APP_ID, javascriptKey = JS_KEY, masterKey } = {}) {
  const client = new Parse.LiveQueryClient({
    applicationId, serverURL: WS_URL, javascriptKey, sessionToken,
    masterKey: useMaster ? process.env.MASTER_KEY : masterKey,
  });
  client.open();
  clients.push(client);
  return client;
}

async function subscribed(client, query, sessionToken) {
  const subscription = client.subscribe(query, sessionToken);
  await subscription.subscribePromise;
  return subscription;
}

/** The next `name` event of a subscription: [object, original]. */
function next(subscription, name, timeout = WAIT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${timeout} ms`)), timeout);
    subscription.emitter.once(name, (object, original) => {
      clearTimeout(timer);
      resolve([object, original]);
    });
  });
}

/** Assert that none of these events arrives for a while. */
function silent(subscription, names = ['create', 'update', 'enter', 'leave', 'delete'], wait = QUIET) {
  return new Promise((resolve, reject) => {
    const handlers = names.map((name) => [name, (object) => reject(new Error(`unexpected ${name} of ${object?.id}`))]);
    for (const [name, handler] of handlers) subscription.emitter.on(name, handler);
    setTimeout(() => {
      for (const [name, handler] of handlers) subscription.emitter.off(name, handler);
      resolve();
    }, wait);
  });
}

function publicAcl() {
  const acl = new Parse.ACL();
  acl.setPublicReadAccess(true);
  return acl;
}

async function seedClass(prefix) {
  const cls = className(prefix);
  await new Parse.Object(cls, { seed: true }).save(null, master()); // clients may not create classes
  return cls;
}

after(async () => {
  for (const client of clients) await client.close();
  const defaultClient = await Parse.CoreManager.getLiveQueryController().getDefaultLiveQueryClient();
  await defaultClient.close();
});

test('Query#subscribe: create, update and delete arrive as Parse.Objects on ws://host/parse', async () => {
  const cls = await seedClass('Game');
  const subscription = await new Parse.Query(cls).equalTo('kind', 'arcade').subscribe();
  const creating = next(subscription, 'create');
  const game = await new Parse.Object(cls, { kind: 'arcade', score: 1 }).save(null, master());
  const [created] = await creating;
  assert.ok(created instanceof Parse.Object);
  assert.equal(created.id, game.id);
  assert.equal(created.className, cls);
  assert.equal(created.get('score'), 1);

  const updating = next(subscription, 'update');
  await game.save({ score: 2 }, master());
  const [updated, original] = await updating;
  assert.equal(updated.get('score'), 2);
  assert.equal(original.get('score'), 1);

  const deleting = next(subscription, 'delete');
  await game.destroy(master());
  assert.equal((await deleting)[0].id, game.id);
  await subscription.unsubscribe();
});

test('enter and leave as an object starts and stops matching', async () => {
  const cls = await seedClass('Game');
  const client = liveClient();
  const subscription = await subscribed(client, new Parse.Query(cls).equalTo('level', 'pro'));
  const game = await new Parse.Object(cls, { level: 'novice' }).setACL(publicAcl()).save(null, master());
  const entering = next(subscription, 'enter');
  await game.save({ level: 'pro' }, master());
  const [entered, before] = await entering;
  assert.equal(entered.get('level'), 'pro');
  assert.equal(before.get('level'), 'novice');
  const leaving = next(subscription, 'leave');
  await game.save({ level: 'retired' }, master());
  assert.equal((await leaving)[0].get('level'), 'retired');
});

test('keys limit the fields, watch limits the updates, unsubscribe stops the events', async () => {
  const cls = await seedClass('Player');
  const client = liveClient();
  const selecting = await subscribed(client, new Parse.Query(cls).select('score'));
  const watching = await subscribed(client, new Parse.Query(cls).watch('name'));
  const player = await new Parse.Object(cls, { score: 1, name: 'a', secret: 'x' }).save(null, master());
  await next(watching, 'create');

  const selectedUpdate = next(selecting, 'update');
  const quietWatcher = silent(watching, ['update']);
  await player.save({ score: 2 }, master());
  const [projected] = await selectedUpdate;
  assert.equal(projected.get('score'), 2);
  assert.equal(projected.has('name'), false);
  assert.equal(projected.has('secret'), false);
  await quietWatcher;

  const watched = next(watching, 'update');
  await player.save({ name: 'b' }, master());
  assert.equal((await watched)[0].get('name'), 'b');

  await client.unsubscribe(selecting);
  const quiet = silent(selecting);
  await player.save({ score: 3 }, master());
  await quiet;
});

test('an object only ada may read reaches ada and nobody else', async () => {
  const cls = await seedClass('Diary');
  const ada = await subscribed(liveClient({ sessionToken: user('ada').sessionToken }), new Parse.Query(cls));
  const ben = await subscribed(liveClient({ sessionToken: user('ben').sessionToken }), new Parse.Query(cls));
  const anonymous = await subscribed(liveClient(), new Parse.Query(cls));
  const arriving = next(ada, 'create');
  const benQuiet = silent(ben);
  const anonymousQuiet = silent(anonymous);
  await new Parse.Object(cls, { text: 'dear diary' }).setACL(new Parse.ACL(userObject('ada'))).save(null, master());
  assert.equal((await arriving)[0].get('text'), 'dear diary');
  await benQuiet;
  await anonymousQuiet;
});

test('an object readable by a role reaches its members, with a per-subscription session token', async () => {
  const cls = await seedClass('Memo');
  const role = new Parse.Role(className('Staff'), publicAcl());
  role.getUsers().add(userObject('ben'));
  await role.save(null, master());
  const client = liveClient(); // one connection, a session per subscription
  const ben = await subscribed(client, new Parse.Query(cls), user('ben').sessionToken);
  const ada = await subscribed(client, new Parse.Query(cls), user('ada').sessionToken);
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(role, true);
  const arriving = next(ben, 'create');
  const adaQuiet = silent(ada);
  await new Parse.Object(cls, { to: 'staff' }).setACL(acl).save(null, master());
  assert.equal((await arriving)[0].get('to'), 'staff');
  await adaQuiet;
});

test('a dotted key includes the pointer if the subscriber may read it (the SDK sends no include)', async () => {
  const cls = await seedClass('Pet');
  const owner = await new Parse.Object(className('Owner'), { name: 'ada' })
    .setACL(new Parse.ACL(userObject('ada'))).save(null, master());
  const query = () => new Parse.Query(cls).select('owner.name');
  const ada = await subscribed(liveClient({ sessionToken: user('ada').sessionToken }), query());
  const ben = await subscribed(liveClient({ sessionToken: user('ben').sessionToken }), query());
  const forAda = next(ada, 'create');
  const forBen = next(ben, 'create');
  await new Parse.Object(cls, { owner }).setACL(publicAcl()).save(null, master());
  assert.equal((await forAda)[0].get('owner').get('name'), 'ada');
  assert.equal((await forBen)[0].get('owner'), undefined);
});

test('the SDK reconnects and subscribes again after the connection drops', async () => {
  const cls = await seedClass('Beacon');
  const client = liveClient();
  const subscription = await subscribed(client, new Parse.Query(cls));
  const reopened = new Promise((resolve) => client.emitter.once('open', resolve));
  client.socket.close(); // as a network drop would
  await reopened;
  await new Promise((resolve) => setTimeout(resolve, 300)); // the SDK re-sends its subscribe after open
  const arriving = next(subscription, 'create');
  await new Parse.Object(cls, { n: 1 }).save(null, master());
  assert.equal((await arriving)[0].get('n'), 1);
});

test('app B, with its keys or its sessions, never hears app A, whatever the class name', async () => {
  assert.ok(appB, 'HANGAR_SDK_FIXTURES.appB is required');
  const cls = await seedClass('Shared');
  const made = await rest('POST', `/classes/${cls}`, { keys: appB, body: { own: 'B' }, master: true });
  assert.equal(made.status, 201);
  const bMaster = await subscribed(
    liveClient({ applicationId: appB.appId, javascriptKey: appB.javascript, masterKey: appB.master }), new Parse.Query(cls),
  );
  const quiet = silent(bMaster);
  await new Parse.Object(cls, { secret: 'A' }).setACL(publicAcl()).save(null, master());
  await quiet;

  // App A's id with app B's key, and app A with app B's session token: refused at connect.
  const wrongKey = liveClient({ javascriptKey: appB.javascript });
  wrongKey.connectPromise.catch(() => {}); // rejected by the refusal, which is what is asserted
  const refusedKey = new Promise((resolve) => wrongKey.emitter.once('error', resolve));
  assert.equal(await refusedKey, 'Key in request is not valid');
  const bSession = liveClient({ sessionToken: FIXTURES.usersB.bea.sessionToken });
  bSession.connectPromise.catch(() => {});
  const refusedSession = new Promise((resolve) => bSession.emitter.once('error', resolve));
  assert.equal(await refusedSession, 'Invalid session token');
});

test('logging out stops delivery at once', async () => {
  const cls = await seedClass('Inbox');
  const token = user('cyd').sessionToken;
  const subscription = await subscribed(liveClient({ sessionToken: token }), new Parse.Query(cls));
  const acl = new Parse.ACL(userObject('cyd'));
  const first = next(subscription, 'create');
  await new Parse.Object(cls, { n: 1 }).setACL(acl).save(null, master());
  await first;
  const revoked = new Promise((resolve) => subscription.emitter.once('error', resolve));
  const loggedOut = await rest('POST', '/logout', { keys: { ...FIXTURES.appA }, body: {}, sessionToken: token });
  assert.equal(loggedOut.status, 200);
  assert.equal(await revoked, 'Invalid session token');
  const quiet = silent(subscription);
  await new Parse.Object(cls, { n: 2 }).setACL(acl).save(null, master());
  await quiet;
  await assert.rejects(new Parse.Query(cls).find(as('cyd')));
});
