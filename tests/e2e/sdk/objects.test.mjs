// Parse.Object through the SDK: save/fetch/update/destroy, every value type, operations, errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, appA, className, master, ref, rejectsWithCode, rest } from './helpers.mjs';

const BYTES = { __type: 'Bytes', base64: Buffer.from('hangar\x00bytes').toString('base64') };

test('a new object round-trips every value type through save and fetch', async () => {
  const cls = className('Everything');
  const target = await new Parse.Object(`${cls}Target`, { label: 'pointed-at' }).save(null, master());
  const when = new Date('2024-02-29T12:34:56.789Z');
  const obj = new Parse.Object(cls);
  obj.set({
    text: 'héllo wörld ✈',
    number: 42.5,
    integer: -7,
    flag: true,
    off: false,
    when,
    nested: { a: 1, b: { c: ['x', null, true] }, emptyObject: {} },
    list: [1, 'two', { three: 3 }, [4], when],
    pointer: target,
    place: new Parse.GeoPoint(48.8566, 2.3522),
    area: new Parse.Polygon([[0, 0], [0, 1], [1, 1], [1, 0]]),
    blob: BYTES,
    nothing: null,
  });
  assert.equal(obj.isNew(), true);
  await obj.save(null, master());
  assert.equal(obj.isNew(), false);
  assert.match(obj.id, /^[A-Za-z0-9]{10}$/);
  assert.ok(obj.createdAt instanceof Date && !Number.isNaN(obj.createdAt.getTime()));
  assert.equal(obj.updatedAt.getTime(), obj.createdAt.getTime());
  assert.deepEqual(obj.dirtyKeys(), []);

  const fetched = await ref(cls, obj.id).fetch(master());
  assert.equal(fetched.get('text'), 'héllo wörld ✈');
  assert.equal(fetched.get('number'), 42.5);
  assert.equal(fetched.get('integer'), -7);
  assert.equal(fetched.get('flag'), true);
  assert.equal(fetched.get('off'), false);
  assert.ok(fetched.get('when') instanceof Date);
  assert.equal(fetched.get('when').toISOString(), '2024-02-29T12:34:56.789Z');
  assert.deepEqual(fetched.get('nested'), { a: 1, b: { c: ['x', null, true] }, emptyObject: {} });
  const list = fetched.get('list');
  assert.deepEqual(list.slice(0, 4), [1, 'two', { three: 3 }, [4]]);
  assert.ok(list[4] instanceof Date && list[4].getTime() === when.getTime(), 'a Date inside an array stays a Date');
  const pointer = fetched.get('pointer');
  assert.ok(pointer instanceof Parse.Object);
  assert.equal(pointer.className, `${cls}Target`);
  assert.equal(pointer.id, target.id);
  assert.equal(pointer.isDataAvailable(), false, 'a pointer is not expanded without include');
  const place = fetched.get('place');
  assert.ok(place instanceof Parse.GeoPoint);
  assert.equal(place.latitude, 48.8566);
  assert.equal(place.longitude, 2.3522);
  const area = fetched.get('area');
  assert.ok(area instanceof Parse.Polygon);
  assert.ok(area.containsPoint(new Parse.GeoPoint(0.5, 0.5)));
  assert.deepEqual(area.coordinates[0], [0, 0]);
  assert.deepEqual(fetched.get('blob'), BYTES);
  assert.equal(fetched.has('nothing'), false, 'null stores nothing (Parse Server drops null fields on create)');
  assert.equal(fetched.createdAt.getTime(), obj.createdAt.getTime());
});

test('numbers anywhere in the double range round-trip and leave the class readable', async () => {
  const cls = className('Numbers');
  const values = { safe: Number.MAX_SAFE_INTEGER, big: 1e20, huge: 1e300, tiny: 1e-7, negative: -0.5, sum: 0.1 + 0.2 };
  const obj = await new Parse.Object(cls, values).save(null, master());
  const fetched = await ref(cls, obj.id).fetch(master());
  for (const [key, value] of Object.entries(values)) assert.equal(fetched.get(key), value, key);
  assert.equal((await new Parse.Query(cls).greaterThan('big', 1e19).find(master())).length, 1);
});

test('dates from the server carry exactly three fractional digits and a Z', async () => {
  const cls = className('Stamp');
  const saved = await new Parse.Object(cls, { when: new Date('2020-01-01T00:00:00.000Z') }).save(null, master());
  const raw = await rest('GET', `/classes/${cls}/${saved.id}`, { keys: appA, master: true });
  assert.equal(raw.status, 200);
  for (const value of [raw.body.createdAt, raw.body.updatedAt, raw.body.when.iso]) {
    assert.match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.equal(raw.body.when.iso, '2020-01-01T00:00:00.000Z');
});

test('an update sends the dirty fields only, so fields changed by others survive', async () => {
  const cls = className('Dirty');
  const mine = await new Parse.Object(cls, { title: 'first', body: 'one', views: 1 }).save(null, master());
  const theirs = await ref(cls, mine.id).fetch(master());
  theirs.set('body', 'changed by another client');
  await theirs.save(null, master());

  mine.set('title', 'second');
  assert.deepEqual(mine.dirtyKeys(), ['title']);
  const before = mine.updatedAt.getTime();
  await mine.save(null, master());
  assert.deepEqual(mine.dirtyKeys(), []);
  assert.ok(mine.updatedAt.getTime() >= before);
  assert.equal(mine.get('body'), 'one', 'local state keeps what this client last saw');

  const fresh = await ref(cls, mine.id).fetch(master());
  assert.equal(fresh.get('title'), 'second');
  assert.equal(fresh.get('body'), 'changed by another client');
  assert.equal(fresh.get('views'), 1);
  assert.ok(fresh.updatedAt.getTime() > fresh.createdAt.getTime() - 1);
});

test('unset removes a field on the server and locally', async () => {
  const cls = className('Unset');
  const obj = await new Parse.Object(cls, { keep: 1, drop: 'x', nested: { a: 1, b: 2 } }).save(null, master());
  obj.unset('drop');
  assert.equal(obj.has('drop'), false);
  await obj.save(null, master());
  assert.equal(obj.has('drop'), false);
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.equal(fresh.has('drop'), false);
  assert.equal(fresh.get('keep'), 1);
  // Setting a field to null on an update also deletes it (Parse Server: {"__op":"Delete"} equivalent).
  const raw = await rest('PUT', `/classes/${cls}/${obj.id}`, { keys: appA, master: true, body: { keep: null } });
  assert.equal(raw.status, 200);
  const again = await ref(cls, obj.id).fetch(master());
  assert.equal(again.has('keep'), false);
});

test('increment, add, addUnique and remove apply on the server and leave the right local state', async () => {
  const cls = className('Ops');
  const obj = await new Parse.Object(cls, { score: 10, tags: ['a', 'b'], uniq: [1, 2], gone: ['x', 'y', 'x', 'z'] }).save(
    null,
    master(),
  );
  // Another client moves the counter meanwhile: increments are atomic on the server.
  const other = ref(cls, obj.id);
  other.increment('score', 5);
  await other.save(null, master());
  assert.equal(other.get('score'), 15, 'the server returns the incremented value');

  obj.increment('score');
  obj.add('tags', 'c');
  obj.addUnique('uniq', 2);
  obj.remove('gone', 'x');
  await obj.save(null, master());
  assert.equal(obj.get('score'), 16, 'the local value is the server result, not 10 + 1');
  assert.deepEqual(obj.get('tags'), ['a', 'b', 'c']);
  assert.deepEqual(obj.get('uniq'), [1, 2]);
  assert.deepEqual(obj.get('gone'), ['y', 'z']);
  assert.deepEqual(obj.dirtyKeys(), []);

  obj.increment('score', -20);
  obj.addAll('tags', ['d', 'a']);
  obj.addAllUnique('uniq', [3, 1, 4]);
  obj.removeAll('gone', ['z', 'never-there']);
  await obj.save(null, master());
  assert.equal(obj.get('score'), -4);
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.equal(fresh.get('score'), -4);
  assert.deepEqual(fresh.get('tags'), ['a', 'b', 'c', 'd', 'a'], 'add appends even duplicates');
  assert.deepEqual([...fresh.get('uniq')].sort(), [1, 2, 3, 4]);
  assert.deepEqual(fresh.get('gone'), ['y']);
  assert.deepEqual(obj.get('tags'), fresh.get('tags'));
  assert.deepEqual(obj.get('gone'), fresh.get('gone'));

  // Operations on a field that does not exist yet.
  const blank = new Parse.Object(cls);
  blank.increment('counter', 3);
  blank.add('items', 'first');
  blank.addUnique('set', 'only');
  await blank.save(null, master());
  const blankFresh = await ref(cls, blank.id).fetch(master());
  assert.equal(blankFresh.get('counter'), 3);
  assert.deepEqual(blankFresh.get('items'), ['first']);
  assert.deepEqual(blankFresh.get('set'), ['only']);
});

test('dotted keys set, increment and unset one entry inside an Object field', async () => {
  const cls = className('Nested');
  const obj = await new Parse.Object(cls, { stats: { wins: 1, losses: 2, name: 'x' } }).save(null, master());
  obj.set('stats.name', 'y');
  obj.increment('stats.wins', 2);
  obj.unset('stats.losses');
  await obj.save(null, master());
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.deepEqual(fresh.get('stats'), { wins: 3, name: 'y' });
  const counted = await new Parse.Query(cls).equalTo('stats.wins', 3).count(master());
  assert.equal(counted, 1);
});

test('save(attrs) and a per-call context are accepted', async () => {
  const cls = className('Attrs');
  const obj = new Parse.Object(cls);
  await obj.save({ a: 1, b: 'two' }, { ...master(), context: { reason: 'test' } });
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.equal(fresh.get('a'), 1);
  assert.equal(fresh.get('b'), 'two');
  assert.equal(fresh.has('context'), false);
  assert.equal(fresh.has('_context'), false);
});

test('an operation that does not fit the field type is error 111', async () => {
  const cls = className('OpTypes');
  const obj = await new Parse.Object(cls, { title: 'text', count: 1 }).save(null, master());
  const incrementString = ref(cls, obj.id);
  incrementString.increment('title');
  await rejectsWithCode(incrementString.save(null, master()), Parse.Error.INCORRECT_TYPE);
  const addToNumber = ref(cls, obj.id);
  addToNumber.add('count', 2);
  await rejectsWithCode(addToNumber.save(null, master()), 111);
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.equal(fresh.get('title'), 'text');
  assert.equal(fresh.get('count'), 1);
});

test('destroy removes the object; fetching a missing object is error 101', async () => {
  const cls = className('Doomed');
  const obj = await new Parse.Object(cls, { n: 1 }).save(null, master());
  await obj.destroy(master());
  await rejectsWithCode(ref(cls, obj.id).fetch(master()), Parse.Error.OBJECT_NOT_FOUND);
  await rejectsWithCode(ref(cls, 'nosuchid00').fetch(master()), 101);
  await rejectsWithCode(ref(cls, obj.id).destroy(master()), 101, 'destroying twice');
  const query = new Parse.Query(cls);
  assert.equal(await query.count(master()), 0);
});

test('a value of the wrong type for an existing field is error 111', async () => {
  const cls = className('Typed');
  const obj = await new Parse.Object(cls, { title: 'text', count: 1, when: new Date() }).save(null, master());
  obj.set('title', 12);
  await rejectsWithCode(obj.save(null, master()), Parse.Error.INCORRECT_TYPE);
  await rejectsWithCode(new Parse.Object(cls, { count: 'one' }).save(null, master()), 111);
  await rejectsWithCode(new Parse.Object(cls, { when: 'yesterday' }).save(null, master()), 111);
  const geoForNumber = new Parse.Object(cls, { title: 'ok' });
  geoForNumber.set('count', new Parse.GeoPoint(1, 1));
  await rejectsWithCode(geoForNumber.save(null, master()), 111);
  // Nothing of the failed writes was stored.
  const fresh = await ref(cls, obj.id).fetch(master());
  assert.equal(fresh.get('title'), 'text');
  assert.equal(await new Parse.Query(cls).count(master()), 1);
});

test('an invalid field name is error 105 from the server', async () => {
  const cls = className('Names');
  await new Parse.Object(cls, { fine: 1 }).save(null, master());
  // The SDK accepts a leading underscore; Parse reserves it, so the server must refuse.
  await rejectsWithCode(new Parse.Object(cls, { _private: 1 }).save(null, master()), Parse.Error.INVALID_KEY_NAME);
  const dashed = new Parse.Object(cls);
  dashed.set('bad-name', 1, { ignoreValidation: true });
  await rejectsWithCode(dashed.save(null, master()), 105);
  const spaced = new Parse.Object(cls);
  spaced.set('has space', 1, { ignoreValidation: true });
  await rejectsWithCode(spaced.save(null, master()), 105);
  // The SDK refuses such names locally with the same code.
  assert.throws(() => new Parse.Object(cls).set('bad-name', 1), (error) => error.code === 105);
  assert.equal(await new Parse.Query(cls).count(master()), 1);
});

test('the JavaScript key cannot create a class (119); the master key can, then the JS key may write to it', async () => {
  const cls = className('Fresh');
  await rejectsWithCode(new Parse.Object(cls, { n: 1 }).save(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(new Parse.Query(cls).find(), 119, 'querying a missing class with the JS key');
  await new Parse.Object(cls, { n: 1 }).save(null, master());
  const byClient = await new Parse.Object(cls, { n: 2, added: 'a new field' }).save();
  assert.ok(byClient.id);
  const results = await new Parse.Query(cls).ascending('n').find();
  assert.deepEqual(results.map((o) => o.get('n')), [1, 2]);
  assert.equal(results[1].get('added'), 'a new field');
});

test('the master key sees an empty result for a class that does not exist', async () => {
  const results = await new Parse.Query(className('Never')).find(master());
  assert.deepEqual(results, []);
});

test('save with the JS key and no session creates a publicly readable and writable object', async () => {
  const cls = className('Public');
  await new Parse.Object(cls, { seed: true }).save(null, master());
  const obj = await new Parse.Object(cls, { n: 1 }).save();
  obj.set('n', 2);
  await obj.save();
  const fetched = await ref(cls, obj.id).fetch();
  assert.equal(fetched.get('n'), 2);
  assert.equal(fetched.getACL(), null, 'no ACL was set');
  await fetched.destroy();
  await rejectsWithCode(ref(cls, obj.id).fetch(), 101);
});

test('fetchWithInclude expands a pointer', async () => {
  const cls = className('Fetchy');
  const author = await new Parse.Object(`${cls}Author`, { name: 'Ada', born: 1815 }).save(null, master());
  const post = await new Parse.Object(cls, { title: 'Notes', author, extra: 'x' }).save(null, master());
  const withAuthor = await ref(cls, post.id).fetchWithInclude('author', master());
  assert.equal(withAuthor.get('author').get('name'), 'Ada');
  assert.equal(withAuthor.get('author').isDataAvailable(), true);
});
