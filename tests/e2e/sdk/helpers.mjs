// Shared set-up of the Parse JS SDK suites: environment, SDK initialisation, small helpers.
// Run by tests/e2e/test_parse_sdk.py, which creates the app(s) and users and sets the environment.
import assert from 'node:assert/strict';
import Parse from 'parse/node';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this file through tests/e2e/test_parse_sdk.py`);
  return value;
}

export const SERVER_URL = required('SERVER_URL');
export const APP_ID = required('APP_ID');
export const JS_KEY = required('JS_KEY');
export const MASTER_KEY = required('MASTER_KEY');
export const FIXTURES = JSON.parse(process.env.HANGAR_SDK_FIXTURES || '{}');

Parse.initialize(APP_ID, JS_KEY, MASTER_KEY);
Parse.serverURL = SERVER_URL;
// The SDK retries 5xx answers five times with back-off; a 5xx is a Hangar bug, so fail at once.
Parse.CoreManager.set('REQUEST_ATTEMPT_LIMIT', 1);

export { Parse };
/** Request options with the master key (a fresh object: the SDK writes into the options it is given). */
export function master() {
  return { useMasterKey: true };
}

/** Request options acting as one of the fixture users of app A (no logIn: the route does not exist yet). */
export function as(name) {
  return { sessionToken: user(name).sessionToken };
}

export function user(name) {
  const found = FIXTURES.users?.[name];
  if (!found) throw new Error(`no fixture user ${name}`);
  return found;
}

/** A Parse.User stub (id only) for pointers, ACLs and relations. */
export function userObject(name) {
  return Parse.User.createWithoutData(user(name).id);
}

let counter = 0;
/** A class name of its own for each test, so tests in one file do not see each other's rows. */
export function className(prefix) {
  counter += 1;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

/** Assert that a promise rejects with a Parse.Error of the given code. */
export async function rejectsWithCode(promise, code, message) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Parse.Error, `expected a Parse.Error, got ${error}`);
    assert.equal(error.code, code, `${message ?? ''} expected code ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

/** Create objects of one class with the master key; returns them saved, in the given order. */
export async function seed(cls, rows, options = master()) {
  const objects = rows.map((attrs) => new Parse.Object(cls, attrs));
  await Parse.Object.saveAll(objects, options);
  return objects;
}

/** An unfetched object of a class by id (Parse.Object.createWithoutData only exists on subclasses). */
export function ref(cls, id) {
  return Parse.Object.extend(cls).createWithoutData(id);
}

export function ids(objects) {
  return objects.map((o) => o.id).sort();
}

/**
 * A raw REST call with headers, as curl or a non-JS SDK would send it.
 * keys: {appId, javascript|rest|master}; use `master: true` to send the master key.
 */
export async function rest(method, path, { keys, body, sessionToken, master: useMaster = false } = {}) {
  const headers = { 'X-Parse-Application-Id': keys.appId, 'Content-Type': 'application/json' };
  if (useMaster) headers['X-Parse-Master-Key'] = keys.master;
  else headers['X-Parse-REST-API-Key'] = keys.rest;
  if (sessionToken) headers['X-Parse-Session-Token'] = sessionToken;
  let url = `${SERVER_URL}${path}`;
  let payload;
  if (method === 'GET' && body) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) query.set(key, typeof value === 'string' ? value : JSON.stringify(value));
    url += `?${query}`;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { unparsable: text };
  }
  return { status: response.status, body: json };
}

/** The keys of app A ({appId, javascript, rest, master}), for raw REST calls. */
export const appA = Object.freeze(FIXTURES.appA ?? { appId: APP_ID, javascript: JS_KEY, master: MASTER_KEY });
