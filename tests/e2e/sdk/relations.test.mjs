// Parse.Relation through the SDK: add/remove, relation.query(), $relatedTo and relation constraints.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Parse, appA, className, master, ref, rest, seed } from './helpers.mjs';

const POST = className('Post');
const FAN = `${POST}Fan`;
let fans;
let post;
let other;

function names(results) {
  return results.map((o) => o.get('name')).sort();
}

before(async () => {
  fans = await seed(FAN, [{ name: 'ann' }, { name: 'bob' }, { name: 'cat' }, { name: 'dan' }]);
  [post, other] = await seed(POST, [{ title: 'first' }, { title: 'second' }]);
  const likers = post.relation('likers');
  likers.add([fans[0], fans[1], fans[2]]);
  await post.save(null, master());
  other.relation('likers').add(fans[2]);
  await other.save(null, master());
});

test('relation.add stores members; the field reads back as a Relation of the target class', async () => {
  const fetched = await ref(POST, post.id).fetch(master());
  const relation = fetched.get('likers');
  assert.ok(relation instanceof Parse.Relation);
  assert.equal(relation.targetClassName, FAN);
  assert.deepEqual(names(await relation.query().find()), ['ann', 'bob', 'cat']);
  assert.deepEqual(names(await fetched.relation('likers').query().find()), ['ann', 'bob', 'cat']);
});

test('relation.remove drops members and adding twice keeps one membership', async () => {
  const target = await new Parse.Object(POST, { title: 'churn' }).save(null, master());
  const relation = target.relation('likers');
  relation.add(fans);
  await target.save(null, master());
  relation.add(fans[0]);
  relation.remove([fans[1], fans[3]]);
  await target.save(null, master());
  assert.deepEqual(names(await relation.query().find()), ['ann', 'cat']);
  assert.equal(await relation.query().count(), 2);
  relation.remove(fans[0]);
  await target.save(null, master());
  assert.deepEqual(names(await relation.query().find()), ['cat']);
  await target.destroy(master());
});

test('relation.query() can be narrowed, ordered and counted', async () => {
  const query = post.relation('likers').query();
  query.notEqualTo('name', 'bob').descending('name');
  assert.deepEqual((await query.find()).map((o) => o.get('name')), ['cat', 'ann']);
  assert.equal(await post.relation('likers').query().count(), 3);
  const first = await post.relation('likers').query().ascending('name').first();
  assert.equal(first.get('name'), 'ann');
});

test('the query of a relation on an unfetched parent goes through redirectClassNameForKey', async () => {
  // createWithoutData knows no target class, so the SDK asks the parent class and lets the server redirect.
  const bare = ref(POST, other.id);
  const query = bare.relation('likers').query();
  const results = await query.find();
  assert.deepEqual(names(results), ['cat']);
  assert.equal(results[0].className, FAN);
});

test('a query with $relatedTo, sent by the SDK and over plain REST', async () => {
  const query = Parse.Query.fromJSON(FAN, { where: { $relatedTo: { object: post.toPointer(), key: 'likers' } } });
  query.startsWith('name', 'a');
  assert.deepEqual(names(await query.find()), ['ann']);
  assert.deepEqual(names(await post.relation('likers').query().find()), ['ann', 'bob', 'cat'], 'relation.query() sends $relatedTo');
  const plain = Parse.Query.fromJSON(FAN, { where: { $relatedTo: { object: post.toPointer(), key: 'likers' } } });
  assert.deepEqual(names(await plain.find()), ['ann', 'bob', 'cat']);
  const raw = await rest('GET', `/classes/${FAN}`, {
    keys: appA,
    body: { where: { $relatedTo: { object: { __type: 'Pointer', className: POST, objectId: post.id }, key: 'likers' } } },
  });
  assert.equal(raw.status, 200);
  assert.deepEqual(raw.body.results.map((o) => o.name).sort(), ['ann', 'bob', 'cat']);
});

test('equalTo, containedIn and matchesQuery on a relation field find the parents', async () => {
  const posts = (results) => results.map((o) => o.get('title')).sort();
  assert.deepEqual(posts(await new Parse.Query(POST).equalTo('likers', fans[2]).find()), ['first', 'second']);
  assert.deepEqual(posts(await new Parse.Query(POST).equalTo('likers', fans[0]).find()), ['first']);
  assert.deepEqual(posts(await new Parse.Query(POST).equalTo('likers', fans[3]).find()), []);
  assert.deepEqual(posts(await new Parse.Query(POST).containedIn('likers', [fans[0], fans[3]]).find()), ['first']);
  const bobs = new Parse.Query(FAN).equalTo('name', 'bob');
  assert.deepEqual(posts(await new Parse.Query(POST).matchesQuery('likers', bobs).find()), ['first']);
});

test('a destroyed member disappears from the relation query', async () => {
  const parent = await new Parse.Object(POST, { title: 'ephemeral' }).save(null, master());
  const [keep, gone] = await seed(FAN, [{ name: 'keep' }, { name: 'gone' }]);
  parent.relation('likers').add([keep, gone]);
  await parent.save(null, master());
  await gone.destroy(master());
  assert.deepEqual(names(await parent.relation('likers').query().find()), ['keep']);
});
