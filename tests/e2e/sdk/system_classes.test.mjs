// System classes through the Parse JS SDK: installations (a client saves and updates its own, never lists
// them), no client-added fields on system classes, and Query.get under a CLP that allows get but not find.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, appA, className, master, ref, rejectsWithCode, rest } from './helpers.mjs';

test('Query.get is a get for class-level permissions, find stays refused', async () => {
  const cls = className('GetOnly');
  const schema = new Parse.Schema(cls);
  schema.addString('title');
  schema.setCLP({ get: { '*': true }, create: { '*': true } });
  await schema.save();
  const [saved] = await Promise.all([new Parse.Object(cls, { title: 'one' }).save(null, master())]);
  const got = await new Parse.Query(cls).get(saved.id);
  assert.equal(got.get('title'), 'one');
  await rejectsWithCode(new Parse.Query(cls).find(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(new Parse.Query(cls).equalTo('title', 'one').first(), Parse.Error.OPERATION_FORBIDDEN);
});

test('a client saves and updates its own installation but never lists or deletes installations', async () => {
  const myId = await Parse.CoreManager.getInstallationController().currentInstallationId();
  const mine = new Parse.Installation();
  mine.set({ installationId: myId, deviceType: 'web', channels: ['news'] });
  await mine.save();
  assert.ok(mine.id);
  mine.set('badge', 3);
  await mine.save();
  const fetched = await new Parse.Query(Parse.Installation).get(mine.id, master());
  assert.equal(fetched.get('badge'), 3);

  const again = new Parse.Installation();
  again.set({ installationId: myId, deviceType: 'web' });
  await again.save();
  assert.equal(again.id, mine.id, 'one installation per installationId');

  const other = new Parse.Installation();
  other.set({ installationId: 'another-device-0000', deviceType: 'ios', deviceToken: 'secret-token' });
  await other.save(null, master());
  // (The SDK's Installation.save turns a 101 into a new installation, so this one goes over plain REST.)
  const hijack = await rest('PUT', `/classes/_Installation/${other.id}`, { keys: appA, body: { badge: 9 } });
  assert.equal(hijack.body.code, Parse.Error.OBJECT_NOT_FOUND);
  await rejectsWithCode(new Parse.Query(Parse.Installation).find(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(ref('_Installation', other.id).destroy(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(mine.save({ surprise: 1 }), Parse.Error.OPERATION_FORBIDDEN);
  const untouched = await new Parse.Query(Parse.Installation).get(other.id, master());
  assert.equal(untouched.get('badge'), undefined);
});
