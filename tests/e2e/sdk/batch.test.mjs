// Parse.Object.saveAll / destroyAll / fetchAll through the SDK's POST /batch, with and without transactions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, className, master, ref, rejectsWithCode, seed } from './helpers.mjs';

async function count(cls) {
  return new Parse.Query(cls).count(master());
}

test('saveAll creates more objects than one batch holds (the SDK sends chunks of 20)', async () => {
  const cls = className('Many');
  const objects = Array.from({ length: 45 }, (_, i) => new Parse.Object(cls, { i, even: i % 2 === 0 }));
  const saved = await Parse.Object.saveAll(objects, master());
  assert.equal(saved.length, 45);
  for (const obj of saved) {
    assert.match(obj.id, /^[A-Za-z0-9]{10}$/);
    assert.equal(obj.isNew(), false);
    assert.ok(obj.createdAt instanceof Date);
    assert.deepEqual(obj.dirtyKeys(), []);
  }
  assert.equal(new Set(saved.map((o) => o.id)).size, 45);
  assert.equal(await count(cls), 45);
  assert.equal(await new Parse.Query(cls).equalTo('even', true).count(master()), 23);
});

test('saveAll mixes creates and updates, and the local objects take the server results', async () => {
  const cls = className('Mixed');
  const [first, second] = await seed(cls, [{ n: 1, tags: ['a'] }, { n: 2 }]);
  first.increment('n', 10);
  first.addUnique('tags', 'b');
  second.set('label', 'updated');
  const third = new Parse.Object(cls, { n: 3 });
  await Parse.Object.saveAll([first, second, third], master());
  assert.equal(first.get('n'), 11);
  assert.deepEqual(first.get('tags'), ['a', 'b']);
  assert.ok(third.id);
  const fresh = await new Parse.Query(cls).ascending('n').find(master());
  assert.deepEqual(fresh.map((o) => o.get('n')), [2, 3, 11]);
  assert.equal(fresh.find((o) => o.id === second.id).get('label'), 'updated');
});

test('a saved object with unsaved children saves them first (cascade through batch)', async () => {
  const cls = className('Parent');
  const child = new Parse.Object(`${cls}Child`, { name: 'kid' });
  const sibling = new Parse.Object(`${cls}Child`, { name: 'sib' });
  const parent = new Parse.Object(cls, { child, siblings: [sibling] });
  await parent.save(null, master());
  assert.ok(child.id && sibling.id && parent.id);
  const fetched = await new Parse.Query(cls).include(['child', 'siblings']).get(parent.id, master());
  assert.equal(fetched.get('child').get('name'), 'kid');
  assert.equal(fetched.get('siblings')[0].get('name'), 'sib');
});

test('without a transaction a failing item does not stop the others', async () => {
  const cls = className('Partial');
  await seed(cls, [{ n: 0 }]);
  const good = new Parse.Object(cls, { n: 1 });
  const bad = new Parse.Object(cls, { n: 'not a number' });
  const alsoGood = new Parse.Object(cls, { n: 2 });
  await rejectsWithCode(Parse.Object.saveAll([good, bad, alsoGood], master()), Parse.Error.INCORRECT_TYPE);
  assert.ok(good.id && alsoGood.id);
  assert.equal(bad.id, undefined);
  assert.equal(await count(cls), 3);
});

test('saveAll with {transaction: true} rolls everything back when one item fails', async () => {
  const cls = className('Atomic');
  const [existing] = await seed(cls, [{ n: 1, label: 'before' }]);
  existing.set('label', 'after');
  existing.increment('n');
  const created = new Parse.Object(cls, { n: 2 });
  const missing = ref(cls, 'missing000');
  missing.set('label', 'nowhere');
  await assert.rejects(Parse.Object.saveAll([existing, created, missing], { ...master(), transaction: true }), (error) => {
    // The SDK rejects with one Parse.Error per object of the failed batch, each carrying the server's message.
    const errors = Array.isArray(error) ? error : [error];
    assert.equal(errors.length, 3);
    for (const each of errors) {
      assert.ok(each instanceof Parse.Error);
      assert.match(each.message, /not found/i, 'the failing item\'s error reaches the caller');
    }
    return true;
  });
  assert.equal(await count(cls), 1, 'the created object was rolled back');
  const fresh = await ref(cls, existing.id).fetch(master());
  assert.equal(fresh.get('label'), 'before', 'the update was rolled back');
  assert.equal(fresh.get('n'), 1);

  const typeError = new Parse.Object(cls, { n: 'text' });
  const fine = new Parse.Object(cls, { n: 3 });
  await assert.rejects(Parse.Object.saveAll([fine, typeError], { ...master(), transaction: true }));
  assert.equal(await count(cls), 1);

  // The same transaction succeeds once every item is valid.
  const a = new Parse.Object(cls, { n: 4 });
  const b = new Parse.Object(cls, { n: 5 });
  await Parse.Object.saveAll([a, b], { ...master(), transaction: true });
  assert.ok(a.id && b.id);
  assert.equal(await count(cls), 3);
});

test('destroyAll deletes many; a missing one is reported in an aggregate error', async () => {
  const cls = className('Gone');
  const objects = await seed(cls, Array.from({ length: 25 }, (_, i) => ({ i })));
  await Parse.Object.destroyAll(objects.slice(0, 22), master());
  assert.equal(await count(cls), 3);
  const [left, right] = objects.slice(22);
  const missing = ref(cls, 'missing000');
  await assert.rejects(Parse.Object.destroyAll([left, missing, right], master()), (error) => {
    assert.equal(error.code, Parse.Error.AGGREGATE_ERROR);
    assert.equal(error.errors.length, 1);
    assert.equal(error.errors[0].code, Parse.Error.OBJECT_NOT_FOUND);
    assert.equal(error.errors[0].object.id, 'missing000');
    return true;
  });
  assert.equal(await count(cls), 1, 'the two existing objects were deleted');
});

test('destroyAll with {transaction: true} deletes nothing when one item fails', async () => {
  const cls = className('Kept');
  const [a, b] = await seed(cls, [{ i: 1 }, { i: 2 }]);
  await rejectsWithCode(
    Parse.Object.destroyAll([a, ref(cls, 'missing000'), b], { ...master(), transaction: true }),
    Parse.Error.OBJECT_NOT_FOUND,
  );
  assert.equal(await count(cls), 2);
  await Parse.Object.destroyAll([a, b], { ...master(), transaction: true });
  assert.equal(await count(cls), 0);
});

test('fetchAll, fetchAllWithInclude and fetchAllIfNeeded fill in objects by id', async () => {
  const cls = className('Fetched');
  const [owner] = await seed(`${cls}Owner`, [{ name: 'Olive' }]);
  const saved = await seed(cls, [{ n: 1, owner }, { n: 2, owner }, { n: 3 }]);
  const refs = saved.map((o) => ref(cls, o.id));
  const fetched = await Parse.Object.fetchAll(refs, master());
  assert.deepEqual(fetched.map((o) => o.get('n')), [1, 2, 3], 'results keep the order asked for');
  assert.equal(fetched[0].get('owner').isDataAvailable(), false);

  const withOwner = await Parse.Object.fetchAllWithInclude(saved.map((o) => ref(cls, o.id)), 'owner', master());
  assert.equal(withOwner[0].get('owner').get('name'), 'Olive');
  assert.equal(withOwner[2].has('owner'), false);

  const partial = [ref(cls, saved[0].id), saved[1]];
  saved[1].set('local', 'kept');
  const ifNeeded = await Parse.Object.fetchAllIfNeeded(partial, master());
  assert.equal(ifNeeded[0].get('n'), 1);
  assert.equal(ifNeeded[1].get('local'), 'kept', 'an object with data is not refetched');

  await rejectsWithCode(Parse.Object.fetchAll([ref(cls, saved[0].id), ref(cls, 'missing000')], master()), 101);
});
