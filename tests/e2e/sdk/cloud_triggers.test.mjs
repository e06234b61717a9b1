// Data triggers through the Parse JS SDK: beforeSave rejects and changes, afterSave side effects,
// beforeFind filtering and beforeDelete rejects, as an app's clients see them.
// The bundle is cloud_triggers.bundle/, deployed to app A by tests/e2e/test_parse_sdk.py.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Parse, master, rejectsWithCode } from './helpers.mjs';

const Order = Parse.Object.extend('TriggerOrder');

async function waitFor(query, options) {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const found = await query.find(options);
    if (found.length) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return [];
}

before(async () => {
  // Clients may not create classes: each class exists first (the triggers run for master too).
  await new Order({ qty: 1, item: 'seed' }).save(null, master());
  await new Parse.Object('TriggerAudit', { seed: true }).save(null, master());
  await Parse.Object.saveAll(
    [
      new Parse.Object('TriggerListing', { title: 'shown', visible: true }),
      new Parse.Object('TriggerListing', { title: 'draft', visible: false }),
    ],
    master(),
  );
});

describe('beforeSave', () => {
  test('a rejected save answers the trigger error code and saves nothing', async () => {
    await rejectsWithCode(new Order({ qty: 0, item: 'x' }).save(), 142, 'qty must be positive');
    await rejectsWithCode(new Order({ qty: 2, item: 'forbidden' }).save(), 3001, 'this item cannot be ordered');
    const left = await new Parse.Query('TriggerOrder').equalTo('item', 'forbidden').count(master());
    assert.equal(left, 0);
  });

  test('changes made by the trigger are in the saved object the SDK holds', async () => {
    const order = new Order({ qty: 2, item: '  Widget ' });
    await order.save();
    assert.equal(order.get('item'), 'widget');
    assert.equal(order.get('total'), 6);
    order.increment('qty', 3);
    await order.save();
    assert.equal(order.get('total'), 15);
    assert.equal(order.get('previousQty'), 2);
    const fetched = await new Parse.Query('TriggerOrder').get(order.id);
    assert.equal(fetched.get('item'), 'widget');
    assert.equal(fetched.get('qty'), 5);
  });

  test('an update the trigger rejects leaves the stored object as it was', async () => {
    const order = await new Order({ qty: 4, item: 'bolt' }).save();
    order.set('qty', -1);
    await rejectsWithCode(order.save(), 142, 'qty must be positive');
    const stored = await new Parse.Query('TriggerOrder').get(order.id);
    assert.equal(stored.get('qty'), 4);
  });
});

describe('afterSave', () => {
  test('runs after the save with the data client (an audit row appears)', async () => {
    const order = await new Order({ qty: 7, item: 'nut' }).save();
    const audits = await waitFor(new Parse.Query('TriggerAudit').equalTo('orderId', order.id), master());
    assert.equal(audits.length, 1);
    assert.equal(audits[0].get('qty'), 7);
  });
});

describe('beforeFind', () => {
  test('narrows what a client finds, gets and counts; master sees everything', async () => {
    const seen = await new Parse.Query('TriggerListing').find();
    assert.deepEqual(seen.map((row) => row.get('title')), ['shown']);
    assert.equal(await new Parse.Query('TriggerListing').count(), 1);
    const draft = (await new Parse.Query('TriggerListing').equalTo('title', 'draft').find(master()))[0];
    await rejectsWithCode(new Parse.Query('TriggerListing').get(draft.id), 101);
    assert.equal((await new Parse.Query('TriggerListing').find(master())).length, 2);
  });
});

describe('beforeDelete', () => {
  test('a rejected delete keeps the object', async () => {
    const order = await new Order({ qty: 1, item: 'anchor', locked: true }).save();
    await rejectsWithCode(order.destroy(), 3002, 'locked orders stay');
    assert.equal((await new Parse.Query('TriggerOrder').get(order.id)).get('item'), 'anchor');
    order.set('locked', false);
    await order.save();
    await order.destroy();
    await rejectsWithCode(new Parse.Query('TriggerOrder').get(order.id), 101);
  });
});
