// Multi-factor sign-in through the Parse JS SDK (Parse Server's `mfa` adapter protocol):
// enrol with linkWith('mfa'), log in with logInWithAdditionalAuth, and the attacks a client can try.
// tests/e2e/test_parse_sdk.py turns TOTP on for the app (auth settings mfa_options).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { Parse, master, rejectsWithCode } from './helpers.mjs';

Parse.User.enableUnsafeCurrentUser();
const PASSWORD = 'pw-secret-1';

function unique(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

/** The code of the TOTP step `steps` away from now (each step is accepted once). */
function codeAt(secret, steps) {
  const totp = new OTPAuth.TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

async function enrolled() {
  const username = unique('mfa');
  const user = await Parse.User.signUp(username, PASSWORD);
  const secret = new OTPAuth.Secret({ size: 20 });
  await user.linkWith('mfa', { authData: { secret: secret.base32, token: codeAt(secret, -1) } });
  const recovery = user.get('authDataResponse')?.mfa?.recovery;
  assert.equal(typeof recovery, 'string', 'the recovery codes come back once, in authDataResponse');
  await Parse.User.logOut();
  return { username, user, secret, recovery: recovery.split(', ') };
}

test('linkWith enrols TOTP; logIn then needs the code (logInWithAdditionalAuth)', async () => {
  const { username, user, secret } = await enrolled();
  await assert.rejects(Parse.User.logIn(username, PASSWORD), (error) => {
    assert.equal(error.code, Parse.Error.OTHER_CAUSE);
    assert.equal(error.message, 'Missing additional authData mfa');
    return true;
  });
  await rejectsWithCode(
    Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: '12345x' } }),
    Parse.Error.SCRIPT_FAILED,
  );
  const back = await Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: codeAt(secret, 0) } });
  assert.equal(back.id, user.id);
  assert.ok(back.getSessionToken());
  assert.deepEqual(back.get('authData'), { mfa: { status: 'enabled' } });
  await Parse.User.logOut();
});

test('a code works once; a recovery code works once', async () => {
  const { username, secret, recovery } = await enrolled();
  const code = codeAt(secret, 0);
  await Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: code } });
  await Parse.User.logOut();
  await rejectsWithCode(
    Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: code } }),
    Parse.Error.SCRIPT_FAILED,
    'a replayed code',
  );
  await Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: recovery[0] } });
  await Parse.User.logOut();
  await rejectsWithCode(
    Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: recovery[0] } }),
    Parse.Error.SCRIPT_FAILED,
    'a used recovery code',
  );
});

test('the secret and recovery codes never come back, not even to the master key', async () => {
  const { username, user, secret, recovery } = await enrolled();
  const me = await Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: codeAt(secret, 0) } });
  const fetched = await me.fetch();
  assert.deepEqual(fetched.get('authData'), { mfa: { status: 'enabled' } });
  const viaMaster = await new Parse.Query(Parse.User).get(user.id, master());
  const text = JSON.stringify(viaMaster.toJSON()) + JSON.stringify(fetched.toJSON());
  assert.ok(!text.includes(secret.base32), 'the secret');
  for (const code of recovery) assert.ok(!text.includes(code), 'a recovery code');
  await Parse.User.logOut();
});

test('MFA cannot be unlinked without a code, but can with one', async () => {
  const { username, secret, recovery } = await enrolled();
  const me = await Parse.User.logInWithAdditionalAuth(username, PASSWORD, { mfa: { token: codeAt(secret, 0) } });
  await rejectsWithCode(me._unlinkFrom('mfa'), Parse.Error.OTHER_CAUSE, 'unlink with null');
  await rejectsWithCode(
    me.save({ authData: { mfa: { old: '000000', disable: true } } }),
    Parse.Error.OTHER_CAUSE,
    'a wrong code',
  );
  await me.save({ authData: { mfa: { old: recovery[0], disable: true } } });
  await Parse.User.logOut();
  const plain = await Parse.User.logIn(username, PASSWORD);
  assert.equal(plain.get('authData')?.mfa, undefined);
  await Parse.User.logOut();
});

test('another user cannot touch my MFA', async () => {
  const { user, recovery } = await enrolled();
  await Parse.User.signUp(unique('eve'), PASSWORD);
  const mine = Parse.User.createWithoutData(user.id);
  await assert.rejects(mine.save({ authData: { mfa: { old: recovery[0], disable: true } } }));
  await Parse.User.logOut();
});
