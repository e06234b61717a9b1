// Parse.File through the SDK (reference §11): base64, byte arrays and Blobs; file fields; download; destroy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Parse, as, className, master, rejectsWithCode } from './helpers.mjs';

const STORED = /^[0-9a-f]{32}_/;

// The SDK reads a Blob with the browser's FileReader (readAsDataURL), which Node lacks:
// this is the browser's behaviour for that one call, so the SDK's Blob path runs unchanged.
if (typeof globalThis.FileReader === 'undefined') {
  globalThis.FileReader = class {
    readAsDataURL(blob) {
      blob.arrayBuffer().then(
        (buffer) => {
          this.result = `data:${blob.type || 'application/octet-stream'};base64,${Buffer.from(buffer).toString('base64')}`;
          this.onload();
        },
        (error) => this.onerror(error),
      );
    }
  };
}

async function fetchBytes(url) {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return { bytes: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type') };
}

test('a file from base64 uploads as a user and downloads byte-equal from its URL', async () => {
  const file = new Parse.File('hello.txt', { base64: Buffer.from('Hello, Hangar!').toString('base64') }, 'text/plain');
  await file.save(as('ada'));
  assert.match(file.name(), STORED);
  assert.ok(file.name().endsWith('_hello.txt'));
  const { bytes, type } = await fetchBytes(file.url());
  assert.equal(bytes.toString(), 'Hello, Hangar!');
  assert.equal(type, 'text/plain');
});

test('a file from a byte array keeps every byte, zeros and high bytes included', async () => {
  const data = Array.from({ length: 256 }, (_, i) => i);
  const file = new Parse.File('all-bytes.bin', data, 'application/octet-stream');
  await file.save(as('ada'));
  const { bytes } = await fetchBytes(file.url());
  assert.deepEqual([...bytes], data);
});

test('a file from a Blob-like source uploads its bytes', async () => {
  const blob = new Blob([Buffer.from('blob bytes \u2708')], { type: 'text/plain' });
  const file = new Parse.File('from-blob.txt', blob);
  await file.save(as('ada'));
  const { bytes } = await fetchBytes(file.url());
  assert.equal(bytes.toString(), 'blob bytes \u2708');
});

test('a saved file attached to an object comes back with a URL that serves it', async () => {
  const file = new Parse.File('attached.txt', { base64: Buffer.from('attached').toString('base64') });
  await file.save(as('ada'));
  const cls = className('WithFile');
  const saved = await new Parse.Object(cls, { doc: file }).save(null, master());
  const fetched = await new Parse.Query(cls).get(saved.id, master());
  const again = fetched.get('doc');
  assert.ok(again instanceof Parse.File);
  assert.equal(again.name(), file.name());
  assert.equal((await fetchBytes(again.url())).bytes.toString(), 'attached');
});

test('uploads without a session are refused, as Parse Server does by default', async () => {
  const file = new Parse.File('public.txt', { base64: Buffer.from('x').toString('base64') });
  await rejectsWithCode(file.save(), 130);
});

test('destroy with the master key deletes the file', async () => {
  const file = new Parse.File('doomed.txt', { base64: Buffer.from('bye').toString('base64') });
  await file.save(as('ada'));
  const url = file.url();
  await file.destroy(master());
  const response = await fetch(url);
  assert.equal(response.status, 404);
  assert.equal(await response.text(), 'File not found.');
});
