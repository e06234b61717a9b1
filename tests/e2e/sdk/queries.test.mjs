// Parse.Query through the SDK: every constraint, ordering, paging, projection, counting and include.
// Queries run with the JavaScript key (no master), as a browser app would.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Parse, className, master, rejectsWithCode, seed } from './helpers.mjs';

const ITEM = className('Item');
const OWNER = `${ITEM}Owner`;
const HOUR = 3600 * 1000;
const owners = {};
const items = {};

/** Sorted names of the results: the set a query matched. */
function names(results) {
  return results.map((o) => o.get('name')).sort();
}

/** Names in the order the server returned them. */
function ordered(results) {
  return results.map((o) => o.get('name'));
}

function q() {
  return new Parse.Query(ITEM);
}

async function found(query) {
  return names(await query.find());
}

before(async () => {
  const [olive, oscar, otto] = await seed(OWNER, [
    { name: 'Olive', tier: 'gold', likes: 'x' },
    { name: 'Oscar', tier: 'silver', likes: 'z' },
    { name: 'Otto', tier: 'gold' },
  ]);
  olive.set('boss', otto);
  await olive.save(null, master());
  Object.assign(owners, { olive, oscar, otto });
  const now = Date.now();
  const rows = [
    {
      name: 'Alpha', n: 1, kind: 'x', flag: true, tags: ['red', 'blue'], text: 'apple pie with cream',
      place: new Parse.GeoPoint(0, 0), when: new Date('2020-01-01T00:00:00Z'), owner: olive, crew: [olive, oscar],
      area: new Parse.Polygon([[0, 0], [0, 2], [2, 2], [2, 0]]), meta: { level: 1, color: 'red' },
    },
    {
      name: 'beta', n: 2, kind: 'y', flag: false, tags: ['blue'], text: 'banana split',
      place: new Parse.GeoPoint(0, 1), when: new Date('2021-01-01T00:00:00Z'), owner: oscar, crew: [oscar],
      meta: { level: 2 },
    },
    {
      name: 'Gamma', n: 3, kind: 'x', flag: true, tags: ['green', 'red', 'blue'], text: 'cherry tart',
      place: new Parse.GeoPoint(1, 1), when: new Date('2022-01-01T00:00:00Z'), owner: otto, crew: [],
      area: new Parse.Polygon([[5, 5], [5, 6], [6, 6], [6, 5]]),
    },
    {
      name: 'delta', n: 4, kind: 'y', flag: false, tags: [], text: 'apple crumble with apple sauce and more apple',
      place: new Parse.GeoPoint(10, 10), when: new Date('2023-01-01T00:00:00Z'),
    },
    {
      name: 'Epsilon', n: 5, kind: 'z', flag: true, text: 'dates (and) figs. 1+1?',
      place: new Parse.GeoPoint(45, 45), when: new Date(now - HOUR),
    },
    { name: 'zeta', kind: 'x', when: new Date(now + 48 * HOUR) },
  ];
  for (const obj of await seed(ITEM, rows)) items[obj.get('name')] = obj;
});

describe('comparisons', () => {
  test('equalTo on strings, booleans, pointers, dates and array membership', async () => {
    assert.deepEqual(await found(q().equalTo('kind', 'x')), ['Alpha', 'Gamma', 'zeta']);
    assert.deepEqual(await found(q().equalTo('flag', true)), ['Alpha', 'Epsilon', 'Gamma']);
    assert.deepEqual(await found(q().equalTo('owner', owners.olive)), ['Alpha']);
    assert.deepEqual(await found(q().equalTo('when', new Date('2021-01-01T00:00:00Z'))), ['beta']);
    assert.deepEqual(await found(q().equalTo('tags', 'blue')), ['Alpha', 'Gamma', 'beta']);
    assert.deepEqual(await found(q().equalTo('crew', owners.oscar)), ['Alpha', 'beta']);
    assert.deepEqual(await found(q().equalTo('objectId', items.Gamma.id)), ['Gamma']);
    assert.deepEqual(await found(q().equalTo('kind', 'x').equalTo('flag', true)), ['Alpha', 'Gamma']);
  });

  test('notEqualTo also matches objects without the field', async () => {
    assert.deepEqual(await found(q().notEqualTo('kind', 'x')), ['Epsilon', 'beta', 'delta']);
    assert.deepEqual(await found(q().notEqualTo('n', 3)), ['Alpha', 'Epsilon', 'beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().notEqualTo('owner', owners.olive)), ['Epsilon', 'Gamma', 'beta', 'delta', 'zeta']);
  });

  test('lessThan, lessThanOrEqualTo, greaterThan, greaterThanOrEqualTo on numbers, dates and strings', async () => {
    assert.deepEqual(await found(q().lessThan('n', 3)), ['Alpha', 'beta']);
    assert.deepEqual(await found(q().lessThanOrEqualTo('n', 3)), ['Alpha', 'Gamma', 'beta']);
    assert.deepEqual(await found(q().greaterThan('n', 3)), ['Epsilon', 'delta']);
    assert.deepEqual(await found(q().greaterThanOrEqualTo('n', 3)), ['Epsilon', 'Gamma', 'delta']);
    assert.deepEqual(await found(q().greaterThan('n', 1).lessThan('n', 4)), ['Gamma', 'beta']);
    assert.deepEqual(
      await found(q().greaterThan('when', new Date('2021-06-01T00:00:00Z'))),
      ['Epsilon', 'Gamma', 'delta', 'zeta'],
    );
    assert.deepEqual(await found(q().lessThanOrEqualTo('when', new Date('2021-01-01T00:00:00Z'))), ['Alpha', 'beta']);
    // Strings compare in byte order: upper case sorts before lower case.
    assert.deepEqual(await found(q().lessThan('name', 'a')), ['Alpha', 'Epsilon', 'Gamma']);
    assert.deepEqual(await found(q().greaterThanOrEqualTo('name', 'delta')), ['delta', 'zeta']);
  });

  test('createdAt can be compared like any date', async () => {
    const all = await q().find();
    const latest = Math.max(...all.map((o) => o.createdAt.getTime()));
    assert.equal((await q().lessThanOrEqualTo('createdAt', new Date(latest)).find()).length, 6);
    assert.equal((await q().greaterThan('createdAt', new Date(latest)).find()).length, 0);
  });

  test('relative dates ($relativeTime) on Date fields', async () => {
    assert.deepEqual(await found(q().greaterThan('when', { $relativeTime: '1 day ago' })), ['Epsilon', 'zeta']);
    assert.deepEqual(
      await found(q().lessThan('when', { $relativeTime: 'in 1 day' })),
      ['Alpha', 'Epsilon', 'Gamma', 'beta', 'delta'],
    );
    assert.deepEqual(await found(q().greaterThan('when', { $relativeTime: 'now' })), ['zeta']);
    await rejectsWithCode(q().greaterThan('when', { $relativeTime: 'someday' }).find(), Parse.Error.INVALID_JSON);
  });

  test('containedIn and notContainedIn (the latter also matches missing fields)', async () => {
    assert.deepEqual(await found(q().containedIn('n', [1, 3, 99])), ['Alpha', 'Gamma']);
    assert.deepEqual(await found(q().containedIn('tags', ['green', 'nothing'])), ['Gamma']);
    assert.deepEqual(await found(q().containedIn('owner', [owners.oscar, owners.otto])), ['Gamma', 'beta']);
    assert.deepEqual(await found(q().notContainedIn('n', [1, 3])), ['Epsilon', 'beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().containedIn('n', [])), []);
  });

  test('notEqualTo on an array means no element equals the value', async () => {
    assert.deepEqual(await found(q().notEqualTo('tags', 'red')), ['Epsilon', 'beta', 'delta', 'zeta']);
  });

  test('dotted keys constrain and order by a value inside an Object field', async () => {
    assert.deepEqual(await found(q().equalTo('meta.level', 2)), ['beta']);
    assert.deepEqual(await found(q().greaterThan('meta.level', 0)), ['Alpha', 'beta']);
    assert.deepEqual(await found(q().exists('meta.color')), ['Alpha']);
    assert.deepEqual(ordered(await q().exists('meta').descending('meta.level').find()), ['beta', 'Alpha']);
  });

  test('containedIn on objectId', async () => {
    assert.deepEqual(await found(q().containedIn('objectId', [items.Alpha.id, items.zeta.id, 'nope000000'])), ['Alpha', 'zeta']);
  });

  test('hint, comment and readPreference are accepted and change nothing', async () => {
    const query = q().equalTo('kind', 'x').hint('_id_').comment('from the SDK suite').readPreference('PRIMARY');
    assert.deepEqual(await found(query), ['Alpha', 'Gamma', 'zeta']);
  });

  test('exists and doesNotExist', async () => {
    assert.deepEqual(await found(q().exists('tags')), ['Alpha', 'Gamma', 'beta', 'delta']);
    assert.deepEqual(await found(q().doesNotExist('tags')), ['Epsilon', 'zeta']);
    assert.deepEqual(await found(q().doesNotExist('owner')), ['Epsilon', 'delta', 'zeta']);
  });
});

describe('arrays and strings', () => {
  test('containsAll, containsAllStartingWith and containedBy', async () => {
    assert.deepEqual(await found(q().containsAll('tags', ['red', 'blue'])), ['Alpha', 'Gamma']);
    assert.deepEqual(await found(q().containsAll('tags', ['red', 'purple'])), []);
    assert.deepEqual(await found(q().containsAllStartingWith('tags', ['re', 'bl'])), ['Alpha', 'Gamma']);
    assert.deepEqual(await found(q().containsAllStartingWith('tags', ['gr'])), ['Gamma']);
    assert.deepEqual(await found(q().containedBy('tags', ['red', 'blue'])), ['Alpha', 'beta', 'delta']);
  });

  test('matches with a RegExp, a string and modifiers', async () => {
    assert.deepEqual(await found(q().matches('name', /^[a-z]/)), ['beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().matches('name', /^alpha$/i)), ['Alpha']);
    assert.deepEqual(await found(q().matches('name', '^e', 'i')), ['Epsilon']);
    assert.deepEqual(await found(q().matches('text', 'pie.*cream')), ['Alpha']);
    assert.deepEqual(await found(q().matches('tags', '^gr')), ['Gamma'], 'a regex on an array matches an element');
  });

  test('startsWith, endsWith and contains quote the text; matches with "i" is case-insensitive', async () => {
    assert.deepEqual(await found(q().startsWith('name', 'Al')), ['Alpha']);
    assert.deepEqual(await found(q().startsWith('name', 'al')), [], 'startsWith is case-sensitive');
    assert.deepEqual(await found(q().startsWith('name', 'al', 'i')), ['Alpha']);
    assert.deepEqual(await found(q().endsWith('name', 'ta')), ['beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().endsWith('name', 'TA', 'i')), ['beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().contains('text', 'apple')), ['Alpha', 'delta']);
    assert.deepEqual(await found(q().contains('text', 'APPLE')), [], 'contains is case-sensitive');
    assert.deepEqual(await found(q().matches('text', 'APPLE', 'i')), ['Alpha', 'delta']);
    // Regex metacharacters inside contains() are literal (the SDK wraps them in \Q...\E).
    assert.deepEqual(await found(q().contains('text', '(and)')), ['Epsilon']);
    assert.deepEqual(await found(q().contains('text', '.')), ['Epsilon']);
    assert.deepEqual(await found(q().contains('text', '1+1?')), ['Epsilon']);
    assert.deepEqual(await found(q().endsWith('text', '1+1?')), ['Epsilon']);
  });

  test('fullText finds words (stemmed) and sortByTextScore puts the best match first', async () => {
    assert.deepEqual(await found(q().fullText('text', 'apple')), ['Alpha', 'delta']);
    assert.deepEqual(await found(q().fullText('text', 'apples')), ['Alpha', 'delta']);
    assert.deepEqual(await found(q().fullText('text', 'cherry')), ['Gamma']);
    // sortByTextScore also selects only $score, so tell the results apart by id.
    const scored = await q().fullText('text', 'apple').sortByTextScore().find();
    assert.deepEqual(scored.map((o) => o.id), [items.delta.id, items.Alpha.id]);
    assert.equal(scored[0].has('text'), false);
  });

  test('sortByTextScore returns each result\'s text score as "score"', async () => {
    // Parse Server projects keys=$score as a numeric `score` field on every result.
    const scored = await q().fullText('text', 'apple').sortByTextScore().find();
    assert.equal(scored.length, 2);
    for (const obj of scored) assert.equal(typeof obj.get('score'), 'number', `score of ${obj.id}`);
    assert.ok(scored[0].get('score') > scored[1].get('score'));
  });
});

describe('sub-queries and logic', () => {
  test('matchesQuery and doesNotMatchQuery on a pointer', async () => {
    const gold = new Parse.Query(OWNER).equalTo('tier', 'gold');
    assert.deepEqual(await found(q().matchesQuery('owner', gold)), ['Alpha', 'Gamma']);
    assert.deepEqual(await found(q().doesNotMatchQuery('owner', gold)), ['Epsilon', 'beta', 'delta', 'zeta']);
    assert.deepEqual(await found(q().matchesQuery('crew', gold)), ['Alpha'], 'an array of pointers');
  });

  test('matchesKeyInQuery and doesNotMatchKeyInQuery', async () => {
    const gold = new Parse.Query(OWNER).equalTo('tier', 'gold');
    assert.deepEqual(await found(q().matchesKeyInQuery('kind', 'likes', gold)), ['Alpha', 'Gamma', 'zeta']);
    assert.deepEqual(await found(q().doesNotMatchKeyInQuery('kind', 'likes', gold)), ['Epsilon', 'beta', 'delta']);
    const everyone = new Parse.Query(OWNER);
    assert.deepEqual(
      await found(q().matchesKeyInQuery('kind', 'likes', everyone)),
      ['Alpha', 'Epsilon', 'Gamma', 'zeta'],
    );
  });

  test('Parse.Query.or, and, nor', async () => {
    assert.deepEqual(await found(Parse.Query.or(q().lessThan('n', 2), q().greaterThan('n', 4))), ['Alpha', 'Epsilon']);
    assert.deepEqual(await found(Parse.Query.and(q().equalTo('kind', 'x'), q().equalTo('flag', true))), ['Alpha', 'Gamma']);
    assert.deepEqual(await found(Parse.Query.nor(q().equalTo('kind', 'x'), q().equalTo('kind', 'y'))), ['Epsilon']);
    const nested = Parse.Query.or(Parse.Query.and(q().equalTo('kind', 'y'), q().greaterThan('n', 3)), q().equalTo('name', 'zeta'));
    assert.deepEqual(await found(nested), ['delta', 'zeta']);
    // A compound query can be narrowed further and ordered.
    const narrowed = Parse.Query.or(q().equalTo('kind', 'x'), q().equalTo('kind', 'z')).exists('n').descending('n');
    assert.deepEqual(ordered(await narrowed.find()), ['Epsilon', 'Gamma', 'Alpha']);
  });
});

describe('geo', () => {
  const origin = new Parse.GeoPoint(0, 0);

  test('near sorts by distance and skips objects without a location', async () => {
    assert.deepEqual(ordered(await q().near('place', origin).find()), ['Alpha', 'beta', 'Gamma', 'delta', 'Epsilon']);
    assert.deepEqual(ordered(await q().near('place', new Parse.GeoPoint(44, 44)).limit(2).find()), ['Epsilon', 'delta']);
  });

  test('withinKilometers, withinMiles and withinRadians', async () => {
    // (0,1) is 111 km / 69 mi / 0.0175 rad from the origin, (1,1) 157 km / 98 mi / 0.0247 rad.
    assert.deepEqual(ordered(await q().withinKilometers('place', origin, 200).find()), ['Alpha', 'beta', 'Gamma']);
    assert.deepEqual(ordered(await q().withinKilometers('place', origin, 120).find()), ['Alpha', 'beta']);
    assert.deepEqual(ordered(await q().withinMiles('place', origin, 80).find()), ['Alpha', 'beta']);
    assert.deepEqual(ordered(await q().withinMiles('place', origin, 100).find()), ['Alpha', 'beta', 'Gamma']);
    assert.deepEqual(ordered(await q().withinRadians('place', origin, 0.02).find()), ['Alpha', 'beta']);
    const unsorted = await q().withinKilometers('place', origin, 200, false).ascending('name').find();
    assert.deepEqual(ordered(unsorted), ['Alpha', 'Gamma', 'beta']);
    assert.equal(await q().withinKilometers('place', origin, 200).count(), 3);
  });

  test('withinGeoBox and withinPolygon', async () => {
    const box = q().withinGeoBox('place', new Parse.GeoPoint(-1, -1), new Parse.GeoPoint(2, 2));
    assert.deepEqual(await found(box), ['Alpha', 'Gamma', 'beta']);
    const square = [new Parse.GeoPoint(-1, -1), new Parse.GeoPoint(-1, 5), new Parse.GeoPoint(5, 5), new Parse.GeoPoint(5, -1)];
    assert.deepEqual(await found(q().withinPolygon('place', square)), ['Alpha', 'Gamma', 'beta']);
    const polygon = new Parse.Polygon([[9, 9], [9, 50], [50, 50], [50, 9]]);
    assert.deepEqual(await found(q().withinPolygon('place', polygon)), ['Epsilon', 'delta']);
  });

  test('polygonContains finds the polygons holding a point', async () => {
    assert.deepEqual(await found(q().polygonContains('area', new Parse.GeoPoint(1, 1))), ['Alpha']);
    assert.deepEqual(await found(q().polygonContains('area', new Parse.GeoPoint(5.5, 5.5))), ['Gamma']);
    assert.deepEqual(await found(q().polygonContains('area', new Parse.GeoPoint(3, 3))), []);
  });
});

describe('ordering, paging, projection', () => {
  test('ascending and descending over several keys', async () => {
    const byKindThenN = await q().exists('n').ascending('kind').addDescending('n').find();
    assert.deepEqual(ordered(byKindThenN), ['Gamma', 'Alpha', 'delta', 'beta', 'Epsilon']);
    const byKindDescThenName = await q().descending('kind').addAscending('name').find();
    assert.deepEqual(ordered(byKindDescThenName), ['Epsilon', 'beta', 'delta', 'Alpha', 'Gamma', 'zeta']);
    assert.deepEqual(ordered(await q().ascending(['kind', 'name']).find()), ['Alpha', 'Gamma', 'zeta', 'beta', 'delta', 'Epsilon']);
    assert.deepEqual(ordered(await q().descending('when').limit(2).find()), ['zeta', 'Epsilon']);
  });

  test('limit and skip', async () => {
    assert.deepEqual(ordered(await q().exists('n').ascending('n').skip(1).limit(2).find()), ['beta', 'Gamma']);
    assert.deepEqual(ordered(await q().ascending('name').skip(5).find()), ['zeta']);
    assert.deepEqual(await q().ascending('name').skip(6).find(), []);
    assert.equal((await q().limit(0).find()).length, 0);
  });

  test('select keeps only the listed fields; exclude drops them', async () => {
    const [selected] = await q().equalTo('name', 'Alpha').select('name', 'n').find();
    assert.equal(selected.get('name'), 'Alpha');
    assert.equal(selected.get('n'), 1);
    assert.equal(selected.has('text'), false);
    assert.equal(selected.has('tags'), false);
    assert.ok(selected.createdAt instanceof Date, 'system fields are always returned');
    assert.equal(selected.id, items.Alpha.id);
    const [excluded] = await q().equalTo('name', 'Alpha').exclude('text', 'tags').find();
    assert.equal(excluded.has('text'), false);
    assert.equal(excluded.has('tags'), false);
    assert.equal(excluded.get('n'), 1);
    assert.equal(excluded.get('owner').id, owners.olive.id);
  });

  test('count, withCount, first and get', async () => {
    assert.equal(await q().count(), 6);
    assert.equal(await q().equalTo('kind', 'x').count(), 3);
    assert.equal(await q().equalTo('kind', 'nothing').count(), 0);
    const counted = await q().equalTo('kind', 'x').ascending('name').limit(1).withCount().find();
    assert.equal(counted.count, 3);
    assert.deepEqual(ordered(counted.results), ['Alpha']);
    const firstOne = await q().exists('n').ascending('n').first();
    assert.equal(firstOne.get('name'), 'Alpha');
    assert.equal(await q().equalTo('kind', 'nothing').first(), undefined);
    const got = await q().get(items.Gamma.id);
    assert.equal(got.get('name'), 'Gamma');
    assert.equal(got.get('place').latitude, 1);
    await rejectsWithCode(q().get('missing000'), Parse.Error.OBJECT_NOT_FOUND);
    await rejectsWithCode(q().equalTo('kind', 'y').get(items.Gamma.id), 101, 'get honours the other constraints');
  });

  test('each, eachBatch and findAll page through every object (objectId > last)', async () => {
    const seen = [];
    await q().each((obj) => { seen.push(obj.get('name')); }, { batchSize: 2 });
    assert.deepEqual(seen.sort(), ['Alpha', 'Epsilon', 'Gamma', 'beta', 'delta', 'zeta']);
    const batches = [];
    await q().equalTo('kind', 'x').eachBatch((batch) => { batches.push(batch.length); }, { batchSize: 2 });
    assert.deepEqual(batches, [2, 1]);
    const all = await q().findAll({ batchSize: 4 });
    assert.equal(all.length, 6);
    const idsInOrder = all.map((o) => o.id);
    assert.deepEqual(idsInOrder, [...idsInOrder].sort(), 'pages come in plain byte order of objectId');
    assert.equal(new Set(idsInOrder).size, 6);
  });

  test('map, filter and reduce iterate the same way', async () => {
    const doubled = await q().exists('n').map((obj) => obj.get('n') * 2, { batchSize: 2 });
    assert.deepEqual(doubled.sort((a, b) => a - b), [2, 4, 6, 8, 10]);
    const flagged = await q().filter((obj) => obj.get('flag') === true);
    assert.deepEqual(names(flagged), ['Alpha', 'Epsilon', 'Gamma']);
    assert.equal(await q().exists('n').reduce((sum, obj) => sum + obj.get('n'), 0), 15);
  });
});

describe('include', () => {
  test('include of a pointer', async () => {
    const [alpha] = await q().equalTo('name', 'Alpha').include('owner').find();
    const owner = alpha.get('owner');
    assert.equal(owner.isDataAvailable(), true);
    assert.equal(owner.get('name'), 'Olive');
    assert.equal(owner.get('tier'), 'gold');
    assert.equal(owner.get('boss').isDataAvailable(), false, 'one level only');
    const [plain] = await q().equalTo('name', 'Alpha').find();
    assert.equal(plain.get('owner').isDataAvailable(), false);
  });

  test('nested include', async () => {
    const [alpha] = await q().equalTo('name', 'Alpha').include('owner.boss').find();
    assert.equal(alpha.get('owner').get('name'), 'Olive');
    assert.equal(alpha.get('owner').get('boss').get('name'), 'Otto');
  });

  test('include of an array of pointers', async () => {
    const [alpha] = await q().equalTo('name', 'Alpha').include('crew').find();
    assert.deepEqual(alpha.get('crew').map((o) => o.get('name')), ['Olive', 'Oscar']);
    const [gamma] = await q().equalTo('name', 'Gamma').include(['crew', 'owner']).find();
    assert.deepEqual(gamma.get('crew'), []);
    assert.equal(gamma.get('owner').get('name'), 'Otto');
  });

  test('includeAll expands every pointer and array of pointers', async () => {
    const [alpha] = await q().equalTo('name', 'Alpha').includeAll().find();
    assert.equal(alpha.get('owner').get('name'), 'Olive');
    assert.deepEqual(alpha.get('crew').map((o) => o.get('name')), ['Olive', 'Oscar']);
    const results = await q().includeAll().ascending('name').find();
    assert.equal(results.length, 6);
  });

  test('select of a dotted key includes the pointer with only that field', async () => {
    const [alpha] = await q().equalTo('name', 'Alpha').select('owner.name').find();
    assert.equal(alpha.get('owner').get('name'), 'Olive');
    assert.equal(alpha.get('owner').has('tier'), false);
    assert.equal(alpha.has('text'), false);
  });

  test('get and first with include', async () => {
    const gamma = await q().include('owner').get(items.Gamma.id);
    assert.equal(gamma.get('owner').get('name'), 'Otto');
    const first = await q().include('owner.boss').equalTo('name', 'Alpha').first();
    assert.equal(first.get('owner').get('boss').get('tier'), 'gold');
  });
});
