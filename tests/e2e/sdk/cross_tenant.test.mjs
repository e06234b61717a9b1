// App B, even with its master key, cannot reach app A's objects by id, pointer, sub-query, relation or batch.
// App A is driven through the SDK; app B through raw REST calls with B's keys (HANGAR_SDK_FIXTURES.appB).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { APP_ID, FIXTURES, Parse, SERVER_URL, appA, as, master, ref, rest, userObject } from './helpers.mjs';

const appB = FIXTURES.appB;
const beaToken = FIXTURES.usersB?.bea?.sessionToken;
const SECRET = 'Secret';
const HOLDER = 'Holder';
const TITLE = 'the launch codes of app A';
let secret;
let privateSecret;
let parent;
let bHolderWithPointer;

function pointer(className, objectId) {
  return { __type: 'Pointer', className, objectId };
}

/** As app B: the master key unless a session is given (then the REST key). */
function asB(method, path, body, sessionToken) {
  return rest(method, path, { keys: appB, body, master: !sessionToken, sessionToken });
}

/** Whether a response carries any of A's object data (aOnlyField exists only on A's secret). */
function leaks(response) {
  return JSON.stringify(response.body ?? '').includes('aOnlyField');
}

before(async () => {
  assert.ok(appB, 'HANGAR_SDK_FIXTURES.appB is required');
  assert.notEqual(appB.appId, APP_ID);
  // App A: a publicly readable and writable secret (so only the tenant boundary protects it),
  // a private one, and a parent whose relation holds the secret.
  secret = await new Parse.Object(SECRET, { title: TITLE, aOnlyField: 1 }).save(null, master());
  privateSecret = await new Parse.Object(SECRET, { title: TITLE }).setACL(new Parse.ACL(userObject('ada'))).save(null, master());
  parent = new Parse.Object(HOLDER, { name: 'A parent', target: secret, targets: [secret] });
  parent.relation('likers').add(secret);
  await parent.save(null, master());
  await Parse.Config.save({ aConfig: TITLE });

  // App B: the same class names exist there too (so "class missing" is not what protects A).
  const bSecret = await asB('POST', `/classes/${SECRET}`, { title: 'B own secret' });
  assert.equal(bSecret.status, 201);
  const holder = await asB('POST', `/classes/${HOLDER}`, {
    name: 'B holder', target: pointer(SECRET, secret.id), targets: [pointer(SECRET, secret.id)], code: TITLE,
  });
  assert.equal(holder.status, 201, JSON.stringify(holder.body));
  bHolderWithPointer = holder.body.objectId;
});

async function assertAUntouched() {
  const fresh = await ref(SECRET, secret.id).fetch(master());
  assert.equal(fresh.get('title'), TITLE);
  assert.equal(fresh.get('aOnlyField'), 1);
  assert.equal(fresh.has('hacked'), false);
}

test('control: the same raw requests with A\'s own master key do reach A\'s data', async () => {
  const asA = (method, path, body) => rest(method, path, { keys: appA, body, master: true });
  assert.equal((await asA('GET', `/classes/${SECRET}/${secret.id}`)).body.title, TITLE);
  const included = await asA('GET', `/classes/${HOLDER}/${parent.id}`, { include: 'target,targets' });
  assert.equal(included.body.target.aOnlyField, 1);
  assert.equal(included.body.targets[0].aOnlyField, 1);
  const inQuery = await asA('GET', `/classes/${HOLDER}`, { where: { target: { $inQuery: { className: SECRET, where: {} } } } });
  assert.deepEqual(inQuery.body.results.map((o) => o.objectId), [parent.id]);
  const related = await asA('GET', `/classes/${SECRET}`, {
    where: { $relatedTo: { object: pointer(HOLDER, parent.id), key: 'likers' } },
  });
  assert.deepEqual(related.body.results.map((o) => o.objectId), [secret.id]);
  const batch = await asA('POST', '/batch', { requests: [{ method: 'GET', path: `/parse/classes/${SECRET}/${secret.id}` }] });
  assert.equal(batch.body[0].success.title, TITLE);
  const distinct = await asA('GET', `/aggregate/${SECRET}`, { distinct: 'title' });
  assert.deepEqual(distinct.body.results, [TITLE]);
});

describe('by id', () => {
  test('B cannot get, update or delete A\'s object', async () => {
    for (const id of [secret.id, privateSecret.id]) {
      const got = await asB('GET', `/classes/${SECRET}/${id}`);
      assert.equal(got.status, 404);
      assert.equal(got.body.code, 101);
      const updated = await asB('PUT', `/classes/${SECRET}/${id}`, { hacked: true });
      assert.equal(updated.body.code, 101);
      const deleted = await asB('DELETE', `/classes/${SECRET}/${id}`);
      assert.equal(deleted.body.code, 101);
    }
    const withSession = await asB('GET', `/classes/${SECRET}/${secret.id}`, undefined, beaToken);
    assert.equal(withSession.body.code, 101);
    await assertAUntouched();
    assert.equal((await ref(SECRET, privateSecret.id).fetch(as('ada'))).get('title'), TITLE);
  });

  test('B cannot find A\'s object with a query on its id or fields, nor count it', async () => {
    const byId = await asB('GET', `/classes/${SECRET}`, { where: { objectId: secret.id } });
    assert.equal(byId.status, 200);
    assert.deepEqual(byId.body.results, []);
    const byTitle = await asB('GET', `/classes/${SECRET}`, { where: { title: TITLE }, count: 1 });
    assert.deepEqual(byTitle.body, { results: [], count: 0 });
    const all = await asB('GET', `/classes/${SECRET}`, { where: {} });
    assert.deepEqual(all.body.results.map((o) => o.title), ['B own secret']);
    assert.equal(leaks(all), false);
    assert.equal(leaks(await asB('GET', `/classes/${SECRET}`, { where: { aOnlyField: 1 } })), false);
  });

  test('B\'s schema, config and aggregate show nothing of A', async () => {
    const schema = await asB('GET', `/schemas/${SECRET}`);
    assert.equal(schema.status, 200);
    assert.equal(schema.body.fields.aOnlyField, undefined);
    const config = await rest('GET', '/config', { keys: appB });
    assert.equal(config.status, 200);
    assert.equal(config.body.params?.aConfig, undefined);
    const distinct = await asB('GET', `/aggregate/${SECRET}`, { distinct: 'title' });
    assert.deepEqual(distinct.body.results, ['B own secret']);
    const grouped = await asB('GET', `/aggregate/${SECRET}`, {
      pipeline: [{ $match: { objectId: secret.id } }, { $group: { _id: null, n: { $sum: 1 } } }],
    });
    assert.equal(leaks(grouped), false);
    assert.ok(grouped.body.results.length === 0 || grouped.body.results[0].n === 0);
  });
});

describe('by reference', () => {
  test('a pointer in B to A\'s id does not include A\'s object', async () => {
    const response = await asB('GET', `/classes/${HOLDER}/${bHolderWithPointer}`, { include: 'target,targets' });
    assert.equal(response.status, 200);
    assert.equal(leaks(response), false, JSON.stringify(response.body));
    assert.equal(response.body.target?.title, undefined);
    const found = await asB('GET', `/classes/${HOLDER}`, { where: { objectId: bHolderWithPointer }, include: 'target,targets' });
    assert.equal(found.body.results.length, 1);
    assert.equal(leaks(found), false, JSON.stringify(found.body));
    const fetchedAll = await asB('GET', `/classes/${HOLDER}`, { includeAll: true });
    assert.equal(leaks(fetchedAll), false, JSON.stringify(fetchedAll.body));
    const selected = await asB('GET', `/classes/${HOLDER}`, { keys: 'target.title,target.aOnlyField' });
    assert.equal(leaks(selected), false, JSON.stringify(selected.body));
  });

  test('$inQuery and $notInQuery run their sub-query in B only', async () => {
    const inQuery = await asB('GET', `/classes/${HOLDER}`, {
      where: { target: { $inQuery: { className: SECRET, where: {} } } },
    });
    assert.deepEqual(inQuery.body.results, [], 'A\'s secret is not among B\'s Secret rows');
    const notInQuery = await asB('GET', `/classes/${HOLDER}`, {
      where: { target: { $notInQuery: { className: SECRET, where: { title: TITLE } } } },
    });
    assert.deepEqual(notInQuery.body.results.map((o) => o.objectId), [bHolderWithPointer]);
  });

  test('$select and $dontSelect read keys from B\'s rows only', async () => {
    const selected = await asB('GET', `/classes/${HOLDER}`, {
      where: { code: { $select: { query: { className: SECRET, where: {} }, key: 'title' } } },
    });
    assert.deepEqual(selected.body.results, [], 'A\'s title is not a value of B\'s Secret.title');
    const notSelected = await asB('GET', `/classes/${HOLDER}`, {
      where: { code: { $dontSelect: { query: { className: SECRET, where: {} }, key: 'title' } } },
    });
    assert.deepEqual(notSelected.body.results.map((o) => o.objectId), [bHolderWithPointer]);
  });

  test('$relatedTo on A\'s parent and a relation to A\'s id find nothing in B', async () => {
    const related = await asB('GET', `/classes/${SECRET}`, {
      where: { $relatedTo: { object: pointer(HOLDER, parent.id), key: 'likers' } },
    });
    assert.equal(related.status, 200);
    assert.deepEqual(related.body.results, []);
    // B adds A's id to one of its own relations: the relation query still yields nothing of A.
    const added = await asB('PUT', `/classes/${HOLDER}/${bHolderWithPointer}`, {
      likers: { __op: 'AddRelation', objects: [pointer(SECRET, secret.id)] },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const own = await asB('GET', `/classes/${SECRET}`, {
      where: { $relatedTo: { object: pointer(HOLDER, bHolderWithPointer), key: 'likers' } },
    });
    assert.deepEqual(own.body.results, []);
    const redirected = await asB('GET', `/classes/${HOLDER}`, {
      where: { $relatedTo: { object: pointer(HOLDER, bHolderWithPointer), key: 'likers' } },
      redirectClassNameForKey: 'likers',
    });
    assert.deepEqual(redirected.body.results, []);
    // And A's own relation is intact.
    assert.deepEqual((await parent.relation('likers').query().find(master())).map((o) => o.id), [secret.id]);
  });

  test('a batch from B cannot read, change or delete A\'s object', async () => {
    const path = `/parse/classes/${SECRET}/${secret.id}`;
    const response = await asB('POST', '/batch', {
      requests: [
        { method: 'GET', path },
        { method: 'PUT', path, body: { hacked: true } },
        { method: 'DELETE', path },
        { method: 'POST', path: `/parse/classes/${SECRET}`, body: { title: 'B batch' } },
      ],
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.slice(0, 3).map((r) => r.error?.code), [101, 101, 101]);
    assert.ok(response.body[3].success.objectId);
    const transactional = await asB('POST', '/batch', {
      requests: [{ method: 'PUT', path, body: { hacked: true } }, { method: 'DELETE', path }],
      transaction: true,
    });
    assert.equal(transactional.body.code, 101);
    await assertAUntouched();
    assert.equal(await new Parse.Query(SECRET).equalTo('title', 'B batch').count(master()), 0);
  });
});

describe('keys and sessions', () => {
  test('keys and session tokens of one app do not work for the other', async () => {
    const mixedMaster = await fetch(`${SERVER_URL}/classes/${SECRET}/${secret.id}`, {
      headers: { 'X-Parse-Application-Id': appB.appId, 'X-Parse-Master-Key': appA.master },
    });
    assert.equal(mixedMaster.status, 403);
    const mixedRest = await fetch(`${SERVER_URL}/classes/${SECRET}/${secret.id}`, {
      headers: { 'X-Parse-Application-Id': APP_ID, 'X-Parse-REST-API-Key': appB.rest },
    });
    assert.equal(mixedRest.status, 403);
    // The JS SDK's text/plain envelope with B's application id and A's master key.
    const envelope = await fetch(`${SERVER_URL}/classes/${SECRET}/${secret.id}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ _method: 'GET', _ApplicationId: appB.appId, _MasterKey: appA.master }),
    });
    assert.equal(envelope.status, 403);
    // B's user token presented to A, and A's token presented to B: invalid sessions (209).
    const bTokenOnA = await rest('GET', `/classes/${SECRET}`, { keys: appA, sessionToken: beaToken });
    assert.equal(bTokenOnA.body.code, 209);
    const aTokenOnB = await rest('GET', `/classes/${SECRET}`, { keys: appB, sessionToken: as('ada').sessionToken });
    assert.equal(aTokenOnB.body.code, 209);
    // Through the SDK too: app A's JS key with B's session token.
    await assert.rejects(new Parse.Query(SECRET).find({ sessionToken: beaToken }), (error) => error.code === 209);
  });
});
