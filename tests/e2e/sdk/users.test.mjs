// End users through the Parse JS SDK: sign-up, login, become, current user, logout, updates,
// duplicate codes, anonymous login + link, authData write forms, and a role-based ACL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, className, master, rejectsWithCode } from './helpers.mjs';

Parse.User.enableUnsafeCurrentUser();

function unique(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

test('signUp, logOut, logIn, become and current', async () => {
  const name = unique('ada');
  const user = new Parse.User({ username: name, password: 'pw-secret-1', email: `${name}@x.com` });
  await user.signUp();
  assert.ok(user.id);
  assert.match(user.getSessionToken(), /^r:[0-9a-f]{32}$/);
  assert.equal(Parse.User.current().id, user.id);
  await Parse.User.logOut();
  assert.equal(Parse.User.current(), null);
  const back = await Parse.User.logIn(name, 'pw-secret-1');
  assert.equal(back.id, user.id);
  assert.equal(back.get('email'), `${name}@x.com`);
  const token = back.getSessionToken();
  await Parse.User.logOut();
  const became = await Parse.User.become(token).catch((e) => e);
  assert.ok(became instanceof Parse.Error && became.code === Parse.Error.INVALID_SESSION_TOKEN, 'logged-out token is dead');
  const again = await Parse.User.logIn(name, 'pw-secret-1');
  const viaBecome = await Parse.User.become(again.getSessionToken());
  assert.equal(viaBecome.id, user.id);
  await rejectsWithCode(Parse.User.logIn(name, 'wrong'), Parse.Error.OBJECT_NOT_FOUND);
  await Parse.User.logOut();
});

test('a user updates themself but not another user', async () => {
  const other = await Parse.User.signUp(unique('ben'), 'pw-secret-1');
  await Parse.User.logOut();
  const me = await Parse.User.signUp(unique('cyd'), 'pw-secret-1');
  // Clients may not add fields to system classes: the developer declares them (Parse.Schema uses the master key).
  const users = new Parse.Schema('_User');
  await users.get().then((found) => found.fields.nickname || users.addString('nickname').update());
  me.set('nickname', 'cee');
  await me.save();
  const fetched = await new Parse.Query(Parse.User).get(me.id, { sessionToken: me.getSessionToken() });
  assert.equal(fetched.get('nickname'), 'cee');
  other.set('nickname', 'hacked');
  await rejectsWithCode(other.save(null, { sessionToken: me.getSessionToken() }), Parse.Error.SESSION_MISSING);
  await Parse.User.logOut();
});

test('duplicate username and email', async () => {
  const name = unique('dup');
  await Parse.User.signUp(name, 'pw-secret-1', { email: `${name}@x.com` });
  await Parse.User.logOut();
  await rejectsWithCode(Parse.User.signUp(name, 'pw'), Parse.Error.USERNAME_TAKEN);
  await rejectsWithCode(
    Parse.User.signUp(unique('dup'), 'pw', { email: `${name.toUpperCase()}@X.com` }),
    Parse.Error.EMAIL_TAKEN,
  );
});

test('anonymous login, then linked to a username and password', async () => {
  const anon = await Parse.AnonymousUtils.logIn();
  assert.ok(anon.id);
  assert.ok(Parse.AnonymousUtils.isLinked(anon));
  const name = unique('anon');
  anon.setUsername(name);
  anon.setPassword('pw-secret-1');
  await anon.save();
  await Parse.User.logOut();
  const back = await Parse.User.logIn(name, 'pw-secret-1');
  assert.equal(back.id, anon.id);
  await Parse.User.logOut();
});

test("a dotted authData key cannot claim another user's anonymous id", async () => {
  const victim = await Parse.AnonymousUtils.logIn();
  const victimAnonId = victim.get('authData').anonymous.id;
  await Parse.User.logOut();
  const mallory = await Parse.User.signUp(unique('mal'), 'pw-secret-1');
  mallory.set('authData.anonymous', { id: victimAnonId });
  await rejectsWithCode(mallory.save(), Parse.Error.ACCOUNT_ALREADY_LINKED);
  await Parse.User.logOut();
  const back = await Parse.User.logInWith('anonymous', { authData: { id: victimAnonId } });
  assert.equal(back.id, victim.id);
  await Parse.User.logOut();
});

test('a role-based ACL lets members read and keeps others out', async () => {
  const member = await Parse.User.signUp(unique('mem'), 'pw-secret-1');
  const memberToken = member.getSessionToken();
  // No logOut in between: logging out would revoke the member's token.
  const outsider = await Parse.User.signUp(unique('out'), 'pw-secret-1');
  const outsiderToken = outsider.getSessionToken();
  const roleName = unique('Editors');
  const role = new Parse.Role(roleName, new Parse.ACL());
  role.getUsers().add(member);
  await role.save(null, master());
  const cls = className('Doc');
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(roleName, true);
  const doc = new Parse.Object(cls, { title: 'secret' });
  doc.setACL(acl);
  await doc.save(null, master());
  const seen = await new Parse.Query(cls).get(doc.id, { sessionToken: memberToken });
  assert.equal(seen.get('title'), 'secret');
  await rejectsWithCode(new Parse.Query(cls).get(doc.id, { sessionToken: outsiderToken }), Parse.Error.OBJECT_NOT_FOUND);
});
