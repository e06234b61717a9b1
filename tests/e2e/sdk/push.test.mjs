// Push through the Parse JS SDK: a device registers and updates its Parse.Installation, the master key sends
// with Parse.Push.send (channels, a Parse.Query, a scheduled local time), and the campaign is a _PushStatus row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, appA, master, rejectsWithCode, rest } from './helpers.mjs';

test('a device saves and updates its installation with the push fields', async () => {
  const myId = await Parse.CoreManager.getInstallationController().currentInstallationId();
  const mine = new Parse.Installation();
  mine.set({
    installationId: myId, deviceType: 'ios', deviceToken: 'AB'.repeat(32), channels: ['news'],
    timeZone: 'Europe/Paris', localeIdentifier: 'fr-FR', badge: 1, appIdentifier: 'com.example.push', pushType: 'apn',
  });
  await mine.save();
  assert.ok(mine.id);
  mine.addUnique('channels', 'sport');
  mine.increment('badge');
  await mine.save();
  const stored = await new Parse.Query(Parse.Installation).get(mine.id, master());
  assert.deepEqual(stored.get('channels'), ['news', 'sport']);
  assert.equal(stored.get('badge'), 2);
  assert.equal(stored.get('deviceToken'), 'ab'.repeat(32), 'a 64-character token is lower-cased, as Parse Server');
  assert.equal(stored.get('timeZone'), 'Europe/Paris');
  // deviceType never changes (136); the SDK surfaces Parse's error.
  mine.set('deviceType', 'android');
  await rejectsWithCode(mine.save(), 136);
});

test('Parse.Push.send with the master key records a _PushStatus campaign', async () => {
  const statusId = await Parse.Push.send(
    { channels: ['news'], data: { alert: 'Bonjour', 'alert-en': 'Hello', badge: 'Increment', sound: 'default' } },
    { useMasterKey: true },
  );
  assert.match(statusId, /^[A-Za-z0-9]{10}$/);
  const { status, body } = await rest('GET', `/classes/_PushStatus/${statusId}`, { keys: appA, master: true });
  assert.equal(status, 200);
  assert.deepEqual(JSON.parse(body.query), { channels: { $in: ['news'] } });
  assert.deepEqual(JSON.parse(body.payload), { alert: 'Bonjour', 'alert-en': 'Hello', badge: 'Increment', sound: 'default' });
  assert.equal(body.source, 'rest');
  assert.ok(['pending', 'running', 'succeeded'].includes(body.status), body.status);
  const viaSdk = await Parse.Push.getPushStatus(statusId);
  assert.equal(viaSdk.get('pushHash'), body.pushHash);
});

test('a Parse.Query target, a local push_time and an expiration interval', async () => {
  const query = new Parse.Query(Parse.Installation).equalTo('deviceType', 'ios').containedIn('channels', ['sport']);
  const statusId = await Parse.Push.send(
    { where: query, data: { alert: 'later' }, push_time: '2031-01-01T09:00:00', expiration_interval: 3600 },
    { useMasterKey: true },
  );
  const { body } = await rest('GET', `/classes/_PushStatus/${statusId}`, { keys: appA, master: true });
  assert.deepEqual(JSON.parse(body.query), { deviceType: 'ios', channels: { $in: ['sport'] } });
  assert.equal(body.status, 'scheduled');
  assert.equal(body.pushTime, '2031-01-01T09:00:00.000', 'no zone: each installation\'s own time');
  assert.equal(body.expiration_interval, 3600);
  const absolute = await Parse.Push.send(
    { where: query, data: { alert: 'at' }, push_time: new Date('2031-01-01T09:00:00Z') }, { useMasterKey: true },
  );
  const row = (await rest('GET', `/classes/_PushStatus/${absolute}`, { keys: appA, master: true })).body;
  assert.equal(row.pushTime, '2031-01-01T09:00:00.000Z');
});

test('without the master key nothing is sent and campaigns stay hidden', async () => {
  const before = (await rest('GET', '/classes/_PushStatus', { keys: appA, master: true })).body.results.length;
  await assert.rejects(Parse.Push.send({ channels: ['news'], data: { alert: 'x' } }, { useMasterKey: false }));
  await rejectsWithCode(new Parse.Query('_PushStatus').find(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(new Parse.Query(Parse.Installation).find(), Parse.Error.OPERATION_FORBIDDEN);
  await rejectsWithCode(
    Parse.Push.send({ channels: ['a'], where: { deviceType: 'ios' }, data: {} }, { useMasterKey: true }),
    Parse.Error.PUSH_MISCONFIGURED,
  );
  const after = (await rest('GET', '/classes/_PushStatus', { keys: appA, master: true })).body.results.length;
  assert.equal(after, before);
});
