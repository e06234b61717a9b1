// ACLs, roles and class-level permissions as the SDK's users meet them (acting through session tokens).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Parse, appA, as, className, master, ref, rejectsWithCode, rest, user, userObject } from './helpers.mjs';

const DOC = className('Doc');
let editors;
let chiefs;

async function visibleTo(options, cls = DOC) {
  return (await new Parse.Query(cls).find(options)).map((o) => o.get('title')).sort();
}

before(async () => {
  // Clients may not create classes: the master key makes the class, users then write to it.
  await new Parse.Object(DOC, { title: 'seed' }).save(null, master());
  // Editors: ben directly; Chiefs: cyd, and every Chief is an Editor (role inheritance).
  const roleAcl = new Parse.ACL();
  roleAcl.setPublicReadAccess(true);
  chiefs = new Parse.Role(className('Chiefs'), roleAcl);
  chiefs.getUsers().add(userObject('cyd'));
  await chiefs.save(null, master());
  editors = new Parse.Role(className('Editors'), roleAcl);
  editors.getUsers().add(userObject('ben'));
  editors.getRoles().add(chiefs);
  await editors.save(null, master());
});

test('an object only its owner may read or write is invisible and untouchable to another user', async () => {
  const doc = new Parse.Object(DOC, { title: 'ada-private' });
  doc.setACL(new Parse.ACL(userObject('ada')));
  await doc.save(null, as('ada'));
  const acl = (await ref(DOC, doc.id).fetch(as('ada'))).getACL();
  assert.equal(acl.getReadAccess(user('ada').id), true);
  assert.equal(acl.getWriteAccess(user('ada').id), true);
  assert.equal(acl.getPublicReadAccess(), false);

  // ben: fetch, get, find, update and delete all behave as if the object did not exist.
  await rejectsWithCode(ref(DOC, doc.id).fetch(as('ben')), Parse.Error.OBJECT_NOT_FOUND);
  await rejectsWithCode(new Parse.Query(DOC).get(doc.id, as('ben')), 101);
  assert.equal((await visibleTo(as('ben'))).includes('ada-private'), false);
  assert.equal(await new Parse.Query(DOC).equalTo('title', 'ada-private').count(as('ben')), 0);
  const hijack = ref(DOC, doc.id);
  hijack.set('title', 'hijacked');
  await rejectsWithCode(hijack.save(null, as('ben')), 101);
  await rejectsWithCode(ref(DOC, doc.id).destroy(as('ben')), 101);
  // No session at all is no better.
  await rejectsWithCode(ref(DOC, doc.id).fetch(), 101);
  await rejectsWithCode(ref(DOC, doc.id).destroy(), 101);

  // The owner still has it, unchanged; the master key sees and changes everything.
  assert.equal((await ref(DOC, doc.id).fetch(as('ada'))).get('title'), 'ada-private');
  assert.ok((await visibleTo(master())).includes('ada-private'));
  const byMaster = await ref(DOC, doc.id).fetch(master());
  byMaster.set('note', 'seen by master');
  await byMaster.save(null, master());
  doc.set('title', 'ada-private-2');
  await doc.save(null, as('ada'));
  assert.equal((await ref(DOC, doc.id).fetch(as('ada'))).get('note'), 'seen by master');
  await doc.destroy(as('ada'));
});

test('public read with owner-only write: others read but cannot change or delete', async () => {
  const acl = new Parse.ACL(userObject('ada'));
  acl.setPublicReadAccess(true);
  const doc = await new Parse.Object(DOC, { title: 'ada-public' }).setACL(acl).save(null, as('ada'));
  assert.equal((await ref(DOC, doc.id).fetch(as('ben'))).get('title'), 'ada-public');
  assert.equal((await ref(DOC, doc.id).fetch()).get('title'), 'ada-public');
  const edit = ref(DOC, doc.id);
  edit.set('title', 'defaced');
  await rejectsWithCode(edit.save(null, as('ben')), 101);
  await rejectsWithCode(ref(DOC, doc.id).destroy(as('ben')), 101);
  // Changing the ACL is a write too.
  const grab = ref(DOC, doc.id);
  grab.setACL(new Parse.ACL(userObject('ben')));
  await rejectsWithCode(grab.save(null, as('ben')), 101);
  assert.equal((await ref(DOC, doc.id).fetch(master())).get('title'), 'ada-public');
});

test('a role grants its members access, and members of an inheriting role too', async () => {
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(editors, true);
  acl.setRoleWriteAccess(editors, true);
  const doc = await new Parse.Object(DOC, { title: 'for-editors' }).setACL(acl).save(null, master());

  // ben is an Editor.
  assert.equal((await ref(DOC, doc.id).fetch(as('ben'))).get('title'), 'for-editors');
  assert.ok((await visibleTo(as('ben'))).includes('for-editors'));
  const edit = ref(DOC, doc.id);
  edit.set('reviewed', true);
  await edit.save(null, as('ben'));
  // cyd is a Chief, and Chiefs are Editors.
  assert.equal((await ref(DOC, doc.id).fetch(as('cyd'))).get('reviewed'), true);
  // ada is neither.
  await rejectsWithCode(ref(DOC, doc.id).fetch(as('ada')), 101);
  assert.equal((await visibleTo(as('ada'))).includes('for-editors'), false);
  const denied = ref(DOC, doc.id);
  denied.set('reviewed', false);
  await rejectsWithCode(denied.save(null, as('ada')), 101);

  // A role ACL entry by name for the narrower role leaves ben out.
  const chiefsOnly = new Parse.ACL();
  chiefsOnly.setRoleReadAccess(chiefs.getName(), true);
  const secret = await new Parse.Object(DOC, { title: 'chiefs-only' }).setACL(chiefsOnly).save(null, master());
  assert.equal((await ref(DOC, secret.id).fetch(as('cyd'))).get('title'), 'chiefs-only');
  await rejectsWithCode(ref(DOC, secret.id).fetch(as('ben')), 101);
});

test('a role name is taken once: a second Parse.Role of it is refused (137) and a rename too', async () => {
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(editors, true);
  const doc = await new Parse.Object(DOC, { title: 'editors-eyes-only' }).setACL(acl).save(null, master());
  const impostor = new Parse.Role(editors.getName(), new Parse.ACL(userObject('ada')));
  impostor.getUsers().add(userObject('ada'));
  await rejectsWithCode(impostor.save(null, as('ada')), Parse.Error.DUPLICATE_VALUE);
  await rejectsWithCode(new Parse.Role(editors.getName(), new Parse.ACL()).save(null, master()), 137);
  // Her own role cannot take the name afterwards either (the SDK refuses locally; REST is refused by the server).
  const own = new Parse.Role(className('AdaOwn'), new Parse.ACL(userObject('ada')));
  own.getUsers().add(userObject('ada'));
  await own.save(null, as('ada'));
  const renamed = await rest('PUT', `/roles/${own.id}`, {
    keys: appA, body: { name: editors.getName() }, sessionToken: user('ada').sessionToken,
  });
  assert.deepEqual(renamed.body, { code: -1, error: "A role's name can only be set before it has been saved." });
  await rejectsWithCode(ref(DOC, doc.id).fetch(as('ada')), 101);
  assert.equal((await ref(DOC, doc.id).fetch(as('ben'))).get('title'), 'editors-eyes-only');
});

test('adding a user to a role takes effect on their next request', async () => {
  const acl = new Parse.ACL();
  acl.setRoleReadAccess(chiefs, true);
  const doc = await new Parse.Object(DOC, { title: 'promotion' }).setACL(acl).save(null, master());
  await rejectsWithCode(ref(DOC, doc.id).fetch(as('ada')), 101);
  chiefs.getUsers().add(userObject('ada'));
  await chiefs.save(null, master());
  assert.equal((await ref(DOC, doc.id).fetch(as('ada'))).get('title'), 'promotion');
  chiefs.getUsers().remove(userObject('ada'));
  await chiefs.save(null, master());
  await rejectsWithCode(ref(DOC, doc.id).fetch(as('ada')), 101);
});

test('roles are queryable and their users relation lists the members', async () => {
  const found = await new Parse.Query(Parse.Role).equalTo('name', editors.getName()).first(as('ada'));
  assert.ok(found instanceof Parse.Role);
  const members = await found.getUsers().query().find(master());
  assert.deepEqual(members.map((u) => u.id), [user('ben').id]);
  const inherited = await found.getRoles().query().find(master());
  assert.deepEqual(inherited.map((r) => r.getName()), [chiefs.getName()]);
});

test('the master key sees every object whatever its ACL', async () => {
  const cls = className('Vault');
  await new Parse.Object(cls, { title: 'open' }).save(null, master());
  const lockedAcl = new Parse.ACL();
  const privateAcl = new Parse.ACL(userObject('ada'));
  await new Parse.Object(cls, { title: 'locked' }).setACL(lockedAcl).save(null, master());
  await new Parse.Object(cls, { title: 'ada-only' }).setACL(privateAcl).save(null, master());
  assert.deepEqual(await visibleTo(master(), cls), ['ada-only', 'locked', 'open']);
  assert.equal(await new Parse.Query(cls).count(master()), 3);
  assert.deepEqual(await visibleTo(as('ada'), cls), ['ada-only', 'open']);
  assert.deepEqual(await visibleTo(as('ben'), cls), ['open']);
  assert.deepEqual(await visibleTo({}, cls), ['open']);
});

test('include drops a pointer the caller may not read', async () => {
  const cls = className('Note');
  const secret = await new Parse.Object(`${cls}Secret`, { body: 'hidden' }).setACL(new Parse.ACL(userObject('ada'))).save(
    null,
    master(),
  );
  const note = await new Parse.Object(cls, { title: 'note', secret, secrets: [secret] }).save(null, master());
  const asAda = await new Parse.Query(cls).include(['secret', 'secrets']).get(note.id, as('ada'));
  assert.equal(asAda.get('secret').get('body'), 'hidden');
  assert.equal(asAda.get('secrets')[0].get('body'), 'hidden');
  const asBen = await new Parse.Query(cls).include(['secret', 'secrets']).get(note.id, as('ben'));
  assert.equal(asBen.has('secret'), false, 'the unreadable pointer is removed');
  assert.deepEqual(asBen.get('secrets'), []);
  // A subquery does not leak it either.
  const bySecret = new Parse.Query(`${cls}Secret`).equalTo('body', 'hidden');
  assert.equal((await new Parse.Query(cls).matchesQuery('secret', bySecret).find(as('ben'))).length, 0);
  assert.equal((await new Parse.Query(cls).matchesQuery('secret', bySecret).find(as('ada'))).length, 1);
});

test('users are publicly readable, directly and through an include, without private fields', async () => {
  const doc = await new Parse.Object(DOC, { title: 'authored', author: userObject('ada') }).save(null, master());
  const fetched = await new Parse.Query(DOC).include('author').get(doc.id, as('ben'));
  const author = fetched.get('author');
  assert.ok(author instanceof Parse.User);
  assert.equal(author.get('username'), 'ada');
  assert.equal(author.getSessionToken(), undefined);
  assert.equal(author.has('authData'), false);
  const users = await new Parse.Query(Parse.User).ascending('username').find(as('ben'));
  assert.deepEqual(users.map((u) => u.get('username')), ['ada', 'ben', 'cyd']);
  assert.equal((await new Parse.Query(Parse.User).get(user('cyd').id)).get('username'), 'cyd');
  await doc.destroy(master());
});

test('an unknown session token is refused with 209 on every call', async () => {
  const bogus = { sessionToken: 'r:00000000000000000000000000000000' };
  await rejectsWithCode(new Parse.Query(DOC).find(bogus), Parse.Error.INVALID_SESSION_TOKEN);
  await rejectsWithCode(new Parse.Object(DOC, { title: 'x' }).save(null, bogus), 209);
});

test('class-level permissions set through Parse.Schema restrict the JavaScript key and users', async () => {
  const cls = className('Guarded');
  await new Parse.Object(cls, { title: 'seed' }).save(null, master());
  const schema = new Parse.Schema(cls);
  schema.setCLP({
    get: { '*': true },
    find: { requiresAuthentication: true },
    count: { requiresAuthentication: true },
    create: { [`role:${editors.getName()}`]: true },
    update: { [user('ada').id]: true },
    delete: {},
    addField: {},
  });
  await schema.update();
  const stored = await new Parse.Schema(cls).get();
  assert.deepEqual(stored.classLevelPermissions.create, { [`role:${editors.getName()}`]: true });

  // find needs a logged-in user (Parse Server answers 101 "Permission denied, user needs to be authenticated.").
  await rejectsWithCode(new Parse.Query(cls).find(), Parse.Error.OBJECT_NOT_FOUND);
  await rejectsWithCode(new Parse.Query(cls).count(), 101);
  assert.deepEqual(await visibleTo(as('ada'), cls), ['seed']);
  // create only for Editors (ben directly, cyd through Chiefs).
  await rejectsWithCode(new Parse.Object(cls, { title: 'by-ada' }).save(null, as('ada')), 119);
  const byBen = await new Parse.Object(cls, { title: 'by-ben' }).save(null, as('ben'));
  await new Parse.Object(cls, { title: 'by-cyd' }).save(null, as('cyd'));
  // update only for ada; delete for nobody but the master key; no new fields from clients.
  const edit = ref(cls, byBen.id);
  edit.set('title', 'by-ben-edited');
  await rejectsWithCode(edit.save(null, as('ben')), 119);
  await edit.save(null, as('ada'));
  const newField = ref(cls, byBen.id);
  newField.set('brandNew', 1);
  await rejectsWithCode(newField.save(null, as('ada')), 119);
  await rejectsWithCode(ref(cls, byBen.id).destroy(as('ada')), 119);
  // get is public even where find is not.
  assert.equal((await ref(cls, byBen.id).fetch()).get('title'), 'by-ben-edited');
  await ref(cls, byBen.id).destroy(master());
  assert.deepEqual(await visibleTo(master(), cls), ['by-cyd', 'seed']);
});

test('protected fields set through Parse.Schema are hidden from everyone but the master key', async () => {
  const cls = className('Profile');
  await new Parse.Object(cls, { name: 'Ada', phone: '555-0100' }).save(null, master());
  const schema = new Parse.Schema(cls);
  schema.setCLP({ get: { '*': true }, find: { '*': true }, protectedFields: { '*': ['phone'] } });
  await schema.update();
  const [asBen] = await new Parse.Query(cls).find(as('ben'));
  assert.equal(asBen.get('name'), 'Ada');
  assert.equal(asBen.has('phone'), false);
  const [asMaster] = await new Parse.Query(cls).find(master());
  assert.equal(asMaster.get('phone'), '555-0100');
});
