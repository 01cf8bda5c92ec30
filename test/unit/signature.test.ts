import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateSigningSecret,
  InvalidSigningSecretError,
  signHexHmac,
  signStandardWebhook,
  verifyHexHmac,
  verifyStandardWebhook,
} from '../../shared/domain/signature.js';

// The test vector published with the Standard Webhooks specification.
const SPEC_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

// The reference's webhook example, serialized by Python's json.dumps (", " and ": " separators).
const PYTHON_BODY =
  '{"parameters": {"branch_name": "feature-x", "environment": "staging"}, "metadata": {"source": "github", "commit": "abc123"}}';
// hmac.new(b"your-webhook-secret", PYTHON_BODY.encode(), hashlib.sha256).hexdigest(), computed with Python.
const PYTHON_SIGNATURE = 'c732bd27c3a5bf3a1376c404371d3061c8bd5583ff225f03be7148d37820548c';

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('generateSigningSecret', () => {
  it('is "whsec_" followed by the base64 of 32 random bytes', () => {
    // Prepare
    const format = /^whsec_[A-Za-z0-9+/]{43}=$/;

    // Act
    const secret = generateSigningSecret();

    // Assess
    expect(secret).toMatch(format);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
  });

  it('never repeats a secret', () => {
    // Prepare
    const count = 500;

    // Act
    const secrets = new Set(Array.from({ length: count }, () => generateSigningSecret()));

    // Assess
    expect(secrets.size).toBe(count);
  });

  it('is accepted by the standardwebhooks library as a secret', () => {
    // Prepare
    const secret = generateSigningSecret();

    // Act
    const signature = new Webhook(secret).sign('msg_1', new Date(0), 'body');

    // Assess
    expect(signature).toBe(signStandardWebhook({ id: 'msg_1', timestamp: 0, body: 'body', secret }));
  });
});

describe('signStandardWebhook', () => {
  it("reproduces the specification's test vector", () => {
    // Prepare
    const { secret, id, timestamp, body } = SPEC_VECTOR;

    // Act
    const signature = signStandardWebhook({ id, timestamp, body, secret });

    // Assess
    expect(signature).toBe(SPEC_VECTOR.signature);
  });

  it('gives the same signature as the standardwebhooks library for a non-ASCII body', () => {
    // Prepare
    const secret = generateSigningSecret();
    const body = JSON.stringify({ prompt: 'Résumé des déploiements — 🚀', n: 1 });
    const timestamp = 1_700_000_000;

    // Act
    const ours = signStandardWebhook({ id: 'exec_1', timestamp, body, secret });
    const theirs = new Webhook(secret).sign('exec_1', new Date(timestamp * 1000), body);

    // Assess
    expect(ours).toBe(theirs);
  });

  it('signs a Buffer body exactly like the same text', () => {
    // Prepare
    const secret = generateSigningSecret();
    const text = '{"a": "é"}';

    // Act
    const fromBuffer = signStandardWebhook({
      id: 'm',
      timestamp: 5,
      body: Buffer.from(text, 'utf8'),
      secret,
    });
    const fromText = signStandardWebhook({ id: 'm', timestamp: 5, body: text, secret });

    // Assess
    expect(fromBuffer).toBe(fromText);
  });

  it('keys the HMAC with the base64-decoded secret, not its text', () => {
    // Prepare
    const { secret, id, timestamp, body } = SPEC_VECTOR;
    const keyedWithText = createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64');

    // Act
    const signature = signStandardWebhook({ id, timestamp, body, secret });

    // Assess
    expect(signature).not.toBe(`v1,${keyedWithText}`);
  });

  it.each([
    ['an empty secret', 'whsec_'],
    ['text that is not base64', 'whsec_not base64!'],
    ['base64 without its padding', 'whsec_YWJjZA'],
  ])(
    'throws InvalidSigningSecretError for %s, with a fixed message that quotes nothing',
    (_label, secret) => {
      // Prepare
      const sign = () => signStandardWebhook({ id: 'm', timestamp: 1, body: 'x', secret });

      // Act
      let thrown: unknown;
      try {
        sign();
      } catch (error) {
        thrown = error;
      }

      // Assess
      expect(thrown).toBeInstanceOf(InvalidSigningSecretError);
      expect((thrown as Error).message).toBe(
        'The signing secret must be "whsec_" followed by non-empty base64.',
      );
    },
  );

  it('rejects a timestamp that is not whole seconds', () => {
    // Prepare
    const secret = generateSigningSecret();

    // Act
    const sign = () => signStandardWebhook({ id: 'm', timestamp: 1.5, body: 'x', secret });

    // Assess
    expect(sign).toThrow(RangeError);
  });
});

describe('verifyStandardWebhook', () => {
  it('accepts what the standardwebhooks library signs', () => {
    // Prepare
    const secret = generateSigningSecret();
    const now = new Date();
    const body = JSON.stringify({ execution_id: 'exec_1', prompt: 'héllo' });
    const signatureHeader = new Webhook(secret).sign('exec_1', now, body);

    // Act
    const valid = verifyStandardWebhook({
      id: 'exec_1',
      timestamp: String(Math.floor(now.getTime() / 1000)),
      body,
      signatureHeader,
      secrets: [secret],
      now,
    });

    // Assess
    expect(valid).toBe(true);
  });

  it('signs what the standardwebhooks library accepts, and it rejects a changed body', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();
    const body = '{"execution_id":"exec_2"}';
    const headers = {
      'webhook-id': 'exec_2',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook({ id: 'exec_2', timestamp, body, secret }),
    };
    const webhook = new Webhook(secret);

    // Act
    const payload = webhook.verify(body, headers);
    const tampered = () => webhook.verify('{"execution_id":"exec_3"}', headers);

    // Assess
    expect(payload).toEqual({ execution_id: 'exec_2' });
    expect(tampered).toThrow('No matching signature found');
  });

  it("accepts the specification's test vector", () => {
    // Prepare
    const { secret, id, timestamp, body, signature } = SPEC_VECTOR;

    // Act
    const valid = verifyStandardWebhook({
      id,
      timestamp: String(timestamp),
      body: Buffer.from(body),
      signatureHeader: signature,
      secrets: [secret],
      now: new Date(timestamp * 1000),
    });

    // Assess
    expect(valid).toBe(true);
  });

  describe('timestamp tolerance', () => {
    const secret = generateSigningSecret();
    const now = new Date('2024-06-01T12:00:00.900Z');
    const nowS = Math.floor(now.getTime() / 1000);
    const verifyAt = (timestamp: number, toleranceSeconds?: number) =>
      verifyStandardWebhook({
        id: 'm',
        timestamp: String(timestamp),
        body: 'x',
        signatureHeader: signStandardWebhook({ id: 'm', timestamp, body: 'x', secret }),
        secrets: [secret],
        now,
        toleranceSeconds,
      });

    it.each([
      ['exactly now', 0, true],
      ['300 s old (the edge)', -300, true],
      ['301 s old', -301, false],
      ['300 s ahead (the edge)', 300, true],
      ['301 s ahead', 301, false],
      ['a day old', -86_400, false],
    ])('with the default 300 s tolerance, a message %s verifies: %s', (_label, offset, expected) => {
      // Prepare
      const timestamp = nowS + offset;

      // Act
      const valid = verifyAt(timestamp);

      // Assess
      expect(valid).toBe(expected);
    });

    it('honours a custom tolerance', () => {
      // Prepare
      const tolerance = 10;

      // Act
      const atEdge = verifyAt(nowS - 10, tolerance);
      const past = verifyAt(nowS - 11, tolerance);

      // Assess
      expect(atEdge).toBe(true);
      expect(past).toBe(false);
    });
  });

  it('accepts a header listing several signatures when any one matches', () => {
    // Prepare
    const secret = generateSigningSecret();
    const other = generateSigningSecret();
    const timestamp = nowSeconds();
    const good = signStandardWebhook({ id: 'm', timestamp, body: 'x', secret });
    const wrong = signStandardWebhook({ id: 'm', timestamp, body: 'x', secret: other });
    const signatureHeader = `${wrong} v1a,c29tZXRoaW5n ${good}`;

    // Act
    const valid = verifyStandardWebhook({
      id: 'm',
      timestamp,
      body: 'x',
      signatureHeader,
      secrets: [secret],
      now: new Date(),
    });
    const acceptedByLibrary = new Webhook(secret).verify('"x"', {
      'webhook-id': 'm',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `${wrong} ${signStandardWebhook({ id: 'm', timestamp, body: '"x"', secret })}`,
    });

    // Assess
    expect(valid).toBe(true);
    expect(acceptedByLibrary).toBe('x');
  });

  it('ignores signatures of other versions even when their bytes match', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();
    const digest = signStandardWebhook({ id: 'm', timestamp, body: 'x', secret }).slice('v1,'.length);

    // Act
    const valid = verifyStandardWebhook({
      id: 'm',
      timestamp,
      body: 'x',
      signatureHeader: `v2,${digest} v1a,${digest}`,
      secrets: [secret],
      now: new Date(),
    });

    // Assess
    expect(valid).toBe(false);
  });

  it('accepts a message signed with any of the rotated secrets, and not with a retired one', () => {
    // Prepare
    const retired = generateSigningSecret();
    const previous = generateSigningSecret();
    const current = generateSigningSecret();
    const timestamp = nowSeconds();
    const verifyWith = (secret: string) =>
      verifyStandardWebhook({
        id: 'm',
        timestamp,
        body: 'x',
        signatureHeader: signStandardWebhook({ id: 'm', timestamp, body: 'x', secret }),
        secrets: [current, previous],
        now: new Date(),
      });

    // Act
    const results = [verifyWith(current), verifyWith(previous), verifyWith(retired)];

    // Assess
    expect(results).toEqual([true, true, false]);
  });

  it('rejects a signature made for another id or timestamp', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();
    const signatureHeader = signStandardWebhook({ id: 'm1', timestamp, body: 'x', secret });
    const base = { body: 'x', signatureHeader, secrets: [secret], now: new Date() };

    // Act
    const otherId = verifyStandardWebhook({ ...base, id: 'm2', timestamp });
    const otherTimestamp = verifyStandardWebhook({ ...base, id: 'm1', timestamp: timestamp - 1 });
    const same = verifyStandardWebhook({ ...base, id: 'm1', timestamp });

    // Assess
    expect(otherId).toBe(false);
    expect(otherTimestamp).toBe(false);
    expect(same).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['a bare version', 'v1'],
    ['an empty signature', 'v1,'],
    ['a lone comma', ','],
    ['garbage', 'garbage'],
    ['non-base64 signature', 'v1,%%%%'],
    ['a truncated signature', 'v1,abc='],
    ['a huge header', `v1,${'A'.repeat(100_000)}`],
    ['control characters', 'v1,\u0000\u0001'],
  ])('returns false (and does not throw) for a header that is %s', (_label, signatureHeader) => {
    // Prepare
    const secret = generateSigningSecret();

    // Act
    const valid = verifyStandardWebhook({
      id: 'm',
      timestamp: nowSeconds(),
      body: 'x',
      signatureHeader,
      secrets: [secret],
      now: new Date(),
    });

    // Assess
    expect(valid).toBe(false);
  });

  it.each([
    ['letters', '12a'],
    ['a negative number', '-5'],
    ['an exponent', '1e9'],
    ['spaces', ' 1700000000'],
    ['leading zeros', '01700000000'],
    ['a fraction', '1700000000.5'],
    ['empty', ''],
    ['huge', '9'.repeat(40)],
  ])('returns false for a timestamp with %s', (_label, timestamp) => {
    // Prepare
    const secret = generateSigningSecret();
    const now = new Date(1_700_000_000_000);
    const signatureHeader = signStandardWebhook({ id: 'm', timestamp: 1_700_000_000, body: 'x', secret });

    // Act
    const valid = verifyStandardWebhook({
      id: 'm',
      timestamp,
      body: 'x',
      signatureHeader,
      secrets: [secret],
      now,
    });

    // Assess
    expect(valid).toBe(false);
  });

  it('skips unusable secrets instead of throwing, and still tries the others', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();
    const signatureHeader = signStandardWebhook({ id: 'm', timestamp, body: 'x', secret });
    const input = { id: 'm', timestamp, body: 'x', signatureHeader, now: new Date() };

    // Act
    const withBadOnly = verifyStandardWebhook({ ...input, secrets: ['', 'whsec_', 'whsec_!!!'] });
    const withBadFirst = verifyStandardWebhook({ ...input, secrets: ['whsec_!!!', secret] });
    const withNone = verifyStandardWebhook({ ...input, secrets: [] });

    // Assess
    expect(withBadOnly).toBe(false);
    expect(withBadFirst).toBe(true);
    expect(withNone).toBe(false);
  });

  it('returns false for an empty id', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();

    // Act
    const valid = verifyStandardWebhook({
      id: '',
      timestamp,
      body: 'x',
      signatureHeader: signStandardWebhook({ id: '', timestamp, body: 'x', secret }),
      secrets: [secret],
      now: new Date(),
    });

    // Assess
    expect(valid).toBe(false);
  });

  it('verifies a Python json.dumps body only over its exact bytes', () => {
    // Prepare
    const secret = generateSigningSecret();
    const timestamp = nowSeconds();
    const signatureHeader = new Webhook(secret).sign('wh_1', new Date(timestamp * 1000), PYTHON_BODY);
    const reserialized = JSON.stringify(JSON.parse(PYTHON_BODY));
    const input = { id: 'wh_1', timestamp, signatureHeader, secrets: [secret], now: new Date() };

    // Act
    const exact = verifyStandardWebhook({ ...input, body: Buffer.from(PYTHON_BODY, 'utf8') });
    const compact = verifyStandardWebhook({ ...input, body: reserialized });

    // Assess
    expect(reserialized).not.toBe(PYTHON_BODY);
    expect(exact).toBe(true);
    expect(compact).toBe(false);
  });
});

describe('signHexHmac', () => {
  it("reproduces the reference example's signature computed by Python", () => {
    // Prepare
    const secret = 'your-webhook-secret';

    // Act
    const signature = signHexHmac(PYTHON_BODY, secret);

    // Assess
    expect(signature).toBe(PYTHON_SIGNATURE);
  });

  it("is node's HMAC-SHA256 hex keyed with the secret's UTF-8 bytes as given", () => {
    // Prepare
    const secret = 'whsec_c2VjcmV0-clé';
    const body = Buffer.from('{"x": "ü"}', 'utf8');
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');

    // Act
    const signature = signHexHmac(body, secret);

    // Assess
    expect(signature).toBe(expected);
  });
});

describe('verifyHexHmac', () => {
  it.each([
    ['bare lowercase hex', PYTHON_SIGNATURE],
    ['bare uppercase hex', PYTHON_SIGNATURE.toUpperCase()],
    ['a "sha256=" prefix', `sha256=${PYTHON_SIGNATURE}`],
  ])('accepts %s', (_label, signature) => {
    // Prepare
    const secrets = ['your-webhook-secret'];

    // Act
    const valid = verifyHexHmac(PYTHON_BODY, signature, secrets);

    // Assess
    expect(valid).toBe(true);
  });

  it('verifies a Python json.dumps body only over its exact bytes', () => {
    // Prepare
    const reserialized = JSON.stringify(JSON.parse(PYTHON_BODY));

    // Act
    const exact = verifyHexHmac(Buffer.from(PYTHON_BODY, 'utf8'), PYTHON_SIGNATURE, ['your-webhook-secret']);
    const compact = verifyHexHmac(reserialized, PYTHON_SIGNATURE, ['your-webhook-secret']);

    // Assess
    expect(exact).toBe(true);
    expect(compact).toBe(false);
  });

  it('accepts any of the rotated secrets and no other', () => {
    // Prepare
    const body = '{"a":1}';
    const signature = signHexHmac(body, 'old-secret');

    // Act
    const rotated = verifyHexHmac(body, signature, ['new-secret', 'old-secret']);
    const retired = verifyHexHmac(body, signature, ['new-secret']);

    // Assess
    expect(rotated).toBe(true);
    expect(retired).toBe(false);
  });

  it('never matches with an empty secret', () => {
    // Prepare
    const body = 'x';
    const signature = createHmac('sha256', '').update(body).digest('hex');

    // Act
    const valid = verifyHexHmac(body, signature, ['']);

    // Assess
    expect(valid).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['the prefix alone', 'sha256='],
    ['too short', PYTHON_SIGNATURE.slice(0, 63)],
    ['too long', `${PYTHON_SIGNATURE}0`],
    ['not hex', `${PYTHON_SIGNATURE.slice(0, 63)}g`],
    ['base64', Buffer.from(PYTHON_SIGNATURE, 'hex').toString('base64')],
    ['another algorithm prefix', `sha1=${PYTHON_SIGNATURE}`],
  ])('returns false (and does not throw) for a signature that is %s', (_label, signature) => {
    // Prepare
    const secrets = ['your-webhook-secret'];

    // Act
    const valid = verifyHexHmac(PYTHON_BODY, signature, secrets);

    // Assess
    expect(valid).toBe(false);
  });
});
