// What an SDK client may learn through queries: no hidden field is searchable, and sub-queries,
// relation queries and include obey the CLP and pointer permissions of every class they read.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Parse, as, className, master, rejectsWithCode, user, userObject } from './helpers.mjs';

const DIARY = className('Diary');
const PROBE = className('Probe');
let adaDiary;
let probe;

before(async () => {
  // ada's diary; the class's get and find are limited to each diary's owner.
  adaDiary = await new Parse.Object(DIARY, { owner: userObject('ada'), entry: 'secret-ada' }).save(null, master());
  await new Parse.Object(DIARY, { owner: userObject('ben'), entry: 'secret-ben' }).save(null, master());
  probe = await new Parse.Object(PROBE, { diary: adaDiary, text: 'secret-ada' }).save(null, master());
  const schema = new Parse.Schema(DIARY);
  schema.setCLP({ get: { pointerFields: ['owner'] }, find: { pointerFields: ['owner'] } });
  await schema.update();
});

test("a prefix search on another user's authData.anonymous.id is refused, whoever asks", async () => {
  const victim = await new Parse.Query(Parse.User).get(user('cyd').id, master());
  victim.set('authData', { anonymous: { id: 'a1b2c3d4-0000-4000-8000-000000000001' } });
  await victim.save(null, master());
  for (const options of [{}, as('ben'), as('cyd')]) {
    const byPrefix = new Parse.Query(Parse.User).startsWith('authData.anonymous.id', 'a1');
    await rejectsWithCode(byPrefix.find(options), Parse.Error.OPERATION_FORBIDDEN);
    await rejectsWithCode(new Parse.Query(Parse.User).exists('authData').count(options), 119);
    await rejectsWithCode(new Parse.Query(Parse.User).ascending('authData').find(options), 119);
    const inner = new Parse.Query(Parse.User).matches('authData.anonymous.id', /^a1/);
    await rejectsWithCode(new Parse.Query(PROBE).matchesQuery('owner', inner).find(options), 119);
  }
  // The master key still may (Parse Server's own logins look users up this way).
  const found = await new Parse.Query(Parse.User).startsWith('authData.anonymous.id', 'a1').find(master());
  assert.deepEqual(found.map((u) => u.id), [user('cyd').id]);
});

test("sub-queries are no oracle on rows another owner's pointer permission hides", async () => {
  for (const guess of ['secret-ada', 'wrong']) {
    const inner = new Parse.Query(DIARY).equalTo('entry', guess);
    assert.deepEqual(await new Parse.Query(PROBE).matchesQuery('diary', inner).find(as('ben')), []);
    const outside = await new Parse.Query(PROBE).doesNotMatchQuery('diary', inner).find(as('ben'));
    assert.deepEqual(outside.map((o) => o.id), [probe.id]);
  }
  const entries = new Parse.Query(DIARY);
  assert.deepEqual(await new Parse.Query(PROBE).matchesKeyInQuery('text', 'entry', entries).find(as('ben')), []);
  const mine = await new Parse.Query(PROBE).matchesKeyInQuery('text', 'entry', entries).find(as('ada'));
  assert.deepEqual(mine.map((o) => o.id), [probe.id]);
});

test("include leaves out an object the target class's pointer permission hides", async () => {
  const [asBen] = await new Parse.Query(PROBE).include('diary').find(as('ben'));
  assert.equal(asBen.get('diary'), undefined);
  const [asAda] = await new Parse.Query(PROBE).include('diary').find(as('ada'));
  assert.equal(asAda.get('diary').get('entry'), 'secret-ada');
});
