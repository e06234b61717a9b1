// Parse.Analytics.track: POST /events/<name> {dimensions}, answered {} (tests/analytics/test_sdk_events.py
// then counts the stored rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parse, rejectsWithCode } from './helpers.mjs';

test('track sends AppOpened and custom events with string dimensions', async () => {
  assert.deepEqual(await Parse.Analytics.track('AppOpened', {}), {});
  for (let i = 0; i < 5; i += 1) {
    await Parse.Analytics.track('SdkSearch', { plan: i % 2 === 0 ? 'free' : 'pro', source: 'sdk' });
  }
});

test('a ninth dimension is refused with a clear Parse error', async () => {
  const dimensions = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
  await rejectsWithCode(Parse.Analytics.track('SdkSearch', dimensions), 107);
});

test('a bad event name is Parse error 160', async () => {
  await rejectsWithCode(Parse.Analytics.track('-bad', {}), 160);
});
