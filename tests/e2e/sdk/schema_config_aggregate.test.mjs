// Parse.Schema, Parse.Config, query.distinct and query.aggregate through the SDK (all master-key features).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Parse, appA, className, master, rejectsWithCode, rest, seed } from './helpers.mjs';

describe('Parse.Schema', () => {
  test('save creates a class with every field type, options and an index; get reads it back', async () => {
    const cls = className('Shaped');
    const schema = new Parse.Schema(cls);
    schema
      .addString('title')
      .addNumber('score', { defaultValue: 5 })
      .addBoolean('done', { defaultValue: false })
      .addDate('due')
      .addObject('meta')
      .addArray('tags')
      .addGeoPoint('place')
      .addPolygon('area')
      .addBytes('blob')
      .addFile('attachment')
      .addPointer('owner', '_User')
      .addRelation('fans', '_User')
      .addString('code', { required: true })
      .addIndex('title_idx', { title: 1 });
    const created = await schema.save();
    assert.equal(created.className, cls);

    const stored = await new Parse.Schema(cls).get();
    const { fields } = stored;
    for (const name of ['objectId', 'createdAt', 'updatedAt', 'ACL']) assert.ok(fields[name], `default field ${name}`);
    assert.deepEqual(fields.title, { type: 'String' });
    assert.deepEqual(fields.score, { type: 'Number', defaultValue: 5 });
    assert.deepEqual(fields.done, { type: 'Boolean', defaultValue: false });
    assert.equal(fields.due.type, 'Date');
    assert.equal(fields.meta.type, 'Object');
    assert.equal(fields.tags.type, 'Array');
    assert.equal(fields.place.type, 'GeoPoint');
    assert.equal(fields.area.type, 'Polygon');
    assert.equal(fields.blob.type, 'Bytes');
    assert.equal(fields.attachment.type, 'File');
    assert.deepEqual(fields.owner, { type: 'Pointer', targetClass: '_User' });
    assert.deepEqual(fields.fans, { type: 'Relation', targetClass: '_User' });
    assert.deepEqual(fields.code, { type: 'String', required: true });
    assert.deepEqual(stored.indexes?.title_idx, { title: 1 });
    assert.deepEqual(stored.classLevelPermissions.find, { '*': true }, 'new classes get the public default CLP');

    const all = await Parse.Schema.all();
    assert.ok(all.some((s) => s.className === cls));
  });

  test('defaultValue fills a missing field on create; a required field missing is error 142', async () => {
    const cls = className('Defaults');
    await new Parse.Schema(cls).addNumber('score', { defaultValue: 5 }).addString('code', { required: true }).save();
    const obj = await new Parse.Object(cls, { code: 'a' }).save();
    assert.equal(obj.get('score'), 5, 'the default is echoed in the create response');
    assert.equal((await new Parse.Query(cls).get(obj.id)).get('score'), 5);
    await rejectsWithCode(new Parse.Object(cls, { score: 1 }).save(), Parse.Error.VALIDATION_ERROR);
  });

  test('update adds and deletes fields; deleting a field removes its data', async () => {
    const cls = className('Evolving');
    await new Parse.Schema(cls).addString('title').addNumber('old').save();
    await seed(cls, [{ title: 'a', old: 1 }]);
    const schema = new Parse.Schema(cls);
    schema.addBoolean('fresh').deleteField('old');
    await schema.update();
    const { fields } = await new Parse.Schema(cls).get();
    assert.equal(fields.fresh.type, 'Boolean');
    assert.equal(fields.old, undefined);
    const [row] = await new Parse.Query(cls).find(master());
    assert.equal(row.has('old'), false);
    assert.equal(row.get('title'), 'a');
  });

  test('schema errors: existing class 103, changed field type 255, missing class 103', async () => {
    const cls = className('Strict');
    await new Parse.Schema(cls).addString('title').save();
    await rejectsWithCode(new Parse.Schema(cls).addString('other').save(), Parse.Error.INVALID_CLASS_NAME);
    await rejectsWithCode(new Parse.Schema(cls).addNumber('title').update(), 255);
    await rejectsWithCode(new Parse.Schema(className('Absent')).get(), Parse.Error.INVALID_CLASS_NAME);
  });

  test('delete refuses a non-empty class (255); purge empties it first', async () => {
    const cls = className('Dropped');
    await new Parse.Schema(cls).addString('title').save();
    await seed(cls, [{ title: 'a' }, { title: 'b' }]);
    await rejectsWithCode(new Parse.Schema(cls).delete(), 255);
    await new Parse.Schema(cls).purge();
    assert.equal(await new Parse.Query(cls).count(master()), 0);
    await new Parse.Schema(cls).delete();
    await rejectsWithCode(new Parse.Schema(cls).get(), 103);
    await rejectsWithCode(new Parse.Object(cls, { title: 'c' }).save(), Parse.Error.OPERATION_FORBIDDEN);
  });

  test('schemas need the master key', async () => {
    const response = await rest('GET', '/schemas', { keys: appA });
    assert.equal(response.status, 403);
  });
});

describe('Parse.Config', () => {
  test('get before anything is saved is empty', async () => {
    const config = await Parse.Config.get();
    assert.equal(config.get('welcome'), undefined);
  });

  test('save merges typed values; master-only params are hidden from clients', async () => {
    const launch = new Date('2030-05-01T10:00:00.000Z');
    await Parse.Config.save(
      { welcome: 'hi', launch, spot: new Parse.GeoPoint(10, 20), limits: { daily: 3 }, list: [1, 'two'], secret: 's3' },
      { secret: true },
    );
    await Parse.Config.save({ second: 2 });

    const asClient = await Parse.Config.get();
    assert.equal(asClient.get('welcome'), 'hi');
    assert.ok(asClient.get('launch') instanceof Date);
    assert.equal(asClient.get('launch').getTime(), launch.getTime());
    assert.ok(asClient.get('spot') instanceof Parse.GeoPoint);
    assert.equal(asClient.get('spot').longitude, 20);
    assert.deepEqual(asClient.get('limits'), { daily: 3 });
    assert.deepEqual(asClient.get('list'), [1, 'two']);
    assert.equal(asClient.get('second'), 2, 'a later save keeps earlier params');
    assert.equal(asClient.get('secret'), undefined);
    assert.equal(Parse.Config.current().get('welcome'), 'hi');

    const asMaster = await Parse.Config.get(master());
    assert.equal(asMaster.get('secret'), 's3');

    await Parse.Config.save({ welcome: 'hello again' });
    assert.equal((await Parse.Config.get()).get('welcome'), 'hello again');
  });

  test('saving config needs the master key', async () => {
    const response = await rest('PUT', '/config', { keys: appA, body: { params: { hacked: true } } });
    assert.equal(response.status, 403);
    assert.equal((await Parse.Config.get()).get('hacked'), undefined);
  });
});

describe('distinct and aggregate', () => {
  const SALE = className('Sale');
  const rows = [
    { item: 'apple', region: 'north', qty: 3, price: 1.5, when: new Date('2024-01-10T00:00:00Z') },
    { item: 'apple', region: 'south', qty: 5, price: 1.0, when: new Date('2024-02-10T00:00:00Z') },
    { item: 'pear', region: 'north', qty: 2, price: 2.0, when: new Date('2024-02-11T00:00:00Z') },
    { item: 'plum', region: 'south', qty: 1, price: 3.0, when: new Date('2025-03-01T00:00:00Z') },
    { item: 'pear', region: 'north', qty: 4, price: 2.5, when: new Date('2025-03-02T00:00:00Z') },
  ];
  before(() => seed(SALE, rows));

  test('distinct lists each value once, honouring the query constraints', async () => {
    assert.deepEqual((await new Parse.Query(SALE).distinct('item')).sort(), ['apple', 'pear', 'plum']);
    assert.deepEqual((await new Parse.Query(SALE).equalTo('region', 'north').distinct('item')).sort(), ['apple', 'pear']);
    assert.deepEqual((await new Parse.Query(SALE).distinct('qty')).sort((a, b) => a - b), [1, 2, 3, 4, 5]);
  });

  test('aggregate $group with $sum, $avg, $min, $max; _id comes back as objectId', async () => {
    const results = await new Parse.Query(SALE).aggregate([
      { $group: { _id: '$item', total: { $sum: '$qty' }, avg: { $avg: '$price' }, min: { $min: '$qty' }, max: { $max: '$qty' } } },
    ]);
    const byItem = Object.fromEntries(results.map((r) => [r.objectId, r]));
    assert.deepEqual(Object.keys(byItem).sort(), ['apple', 'pear', 'plum']);
    assert.equal(byItem.apple.total, 8);
    assert.equal(byItem.apple.avg, 1.25);
    assert.equal(byItem.pear.min, 2);
    assert.equal(byItem.pear.max, 4);
    assert.equal(byItem.plum.total, 1);
  });

  test('aggregate prepends the query constraints as $match, and $group by null counts', async () => {
    const [all] = await new Parse.Query(SALE).greaterThan('qty', 2).aggregate([{ $group: { _id: null, count: { $sum: 1 } } }]);
    assert.equal(all.count, 3);
    const [north] = await new Parse.Query(SALE).aggregate([
      { $match: { region: 'north' } },
      { $group: { _id: null, qty: { $sum: '$qty' } } },
    ]);
    assert.equal(north.qty, 9);
  });

  test('aggregate $project, $sort, $skip and $limit', async () => {
    const results = await new Parse.Query(SALE).aggregate([
      { $project: { item: 1, qty: 1 } },
      { $sort: { qty: -1 } },
      { $skip: 1 },
      { $limit: 2 },
    ]);
    assert.deepEqual(results.map((r) => r.qty), [4, 3]);
    assert.deepEqual(results.map((r) => r.item), ['pear', 'apple']);
    assert.equal(results[0].region, undefined, '$project keeps only the listed fields');
    assert.ok(results[0].objectId, 'objectId is kept');
  });

  test('aggregate $group by a date part', async () => {
    const results = await new Parse.Query(SALE).aggregate([
      { $group: { _id: { year: { $year: '$when' } }, qty: { $sum: '$qty' } } },
    ]);
    const byYear = Object.fromEntries(results.map((r) => [r.objectId.year, r.qty]));
    assert.deepEqual(byYear, { 2024: 10, 2025: 5 });
  });

  test('aggregate and distinct need the master key', async () => {
    await assert.rejects(new Parse.Query(SALE).aggregate([{ $match: {} }], { useMasterKey: false }));
    const response = await rest('GET', `/aggregate/${SALE}`, { keys: appA, body: { distinct: 'item' } });
    assert.equal(response.status, 403);
  });
});
