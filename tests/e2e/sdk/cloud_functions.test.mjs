// Cloud functions through the Parse JS SDK (Parse.Cloud.run): results, errors, users, scopes, isolation.
// The bundle is cloud_functions.bundle/, deployed to app A by tests/e2e/test_parse_sdk.py.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FIXTURES, Parse, as, master, rest } from './helpers.mjs';

const appB = FIXTURES.appB;

async function parseError(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a Parse error');
}

describe('Parse.Cloud.run', () => {
  test('runs a function and returns its result, with modules of the bundle', async () => {
    assert.equal(await Parse.Cloud.run('hello', { name: 'Ada' }), 'Hello Ada');
    assert.equal(await Parse.Cloud.run('shout', { text: 'hi' }), 'HI!');
  });

  test('async handlers, params and master flag', async () => {
    const echoed = await Parse.Cloud.run('echo', { n: 1, list: [1, 'a'] });
    assert.deepEqual(echoed.params, { n: 1, list: [1, 'a'] });
    assert.equal(echoed.master, false);
    assert.equal((await Parse.Cloud.run('echo', {}, master())).master, true);
  });

  test('dates come back as Date objects', async () => {
    const when = await Parse.Cloud.run('when');
    assert.ok(when instanceof Date);
    assert.equal(when.toISOString(), '2026-01-02T03:04:05.000Z');
  });

  test('unknown functions and failures answer Parse errors', async () => {
    const unknown = await parseError(Parse.Cloud.run('doesNotExist'));
    assert.equal(unknown.code, 141);
    assert.match(unknown.message, /Invalid function: "doesNotExist"/);
    const coded = await parseError(Parse.Cloud.run('coded'));
    assert.equal(coded.code, 3001);
    assert.equal(coded.message, 'custom failure');
    const broken = await parseError(Parse.Cloud.run('broken'));
    assert.equal(broken.code, 141);
    assert.match(broken.message, /division by zero/);
  });

  test('the caller is request.user', async () => {
    assert.equal(await Parse.Cloud.run('whoami', {}, as('ada')), FIXTURES.users.ada.id);
    assert.equal(await Parse.Cloud.run('whoami'), null);
  });

  test('the data client acts in the caller scope unless it asks for the master key', async () => {
    const seed = new Parse.Object('CloudNote', { text: 'master only' });
    seed.setACL(new Parse.ACL());
    await seed.save(null, master()); // clients may not create classes: the class exists first
    await Parse.Cloud.run('note', { text: 'ada-1' }, as('ada'));
    await Parse.Cloud.run('note', { text: 'ben-1' }, as('ben'));
    const seenByAda = await Parse.Cloud.run('countNotes', {}, as('ada'));
    assert.equal(seenByAda.mine, 1);
    assert.equal(seenByAda.all, 3);
    const notes = await new Parse.Query('CloudNote').find(as('ben'));
    assert.deepEqual(notes.map((note) => note.get('text')), ['ben-1']);
  });

  test('a function can run another; typed parameters are filled from params', async () => {
    assert.equal(await Parse.Cloud.run('relay', { name: 'Bo' }), 'Hello Bo');
    assert.equal(await Parse.Cloud.run('total', { price: 2.5, count: 4 }), 10);
    const missing = await parseError(Parse.Cloud.run('total', { count: 4 }));
    assert.equal(missing.code, 141);
    assert.match(missing.message, /price/);
  });

  test("another app cannot run app A's functions, even with its master key", async () => {
    const response = await rest('POST', '/functions/hello', { keys: appB, body: { name: 'Eve' }, master: true });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, { code: 141, error: 'Invalid function: "hello"' });
  });
});
