import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MlflowError } from '../entities/errors.js';

// Webhook secrets are kept encrypted in the database, in the Fernet token format that MLflow uses
// with the same MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY, so a database shared with MLflow stays readable
// by both. (Fernet: version byte 0x80, 64-bit timestamp, AES-128-CBC with PKCS#7 padding under the
// key's second half, HMAC-SHA256 under its first half, all URL-safe base64.)
//
// MLflow invents a fresh key per process when none is configured, which makes every stored secret
// unreadable after a restart. We keep the secret readable instead: without a key it is stored as
// given, and the server says so once.

const VERSION = 0x80;
const FERNET_PREFIX = 'gAAAAA';

function urlsafeDecode(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function urlsafeEncode(data: Buffer): string {
  return data.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export class WebhookSecrets {
  private readonly signingKey?: Buffer;
  private readonly encryptionKey?: Buffer;
  private warned = false;

  /** `key` is a Fernet key: 32 bytes in URL-safe base64, as Python's Fernet.generate_key() prints. */
  constructor(
    key: string | undefined,
    private readonly warn: (message: string) => void = (m) => process.emitWarning(m),
  ) {
    if (!key) return;
    const raw = urlsafeDecode(key.trim());
    if (raw.length !== 32) {
      throw new Error(
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY must be 32 bytes in URL-safe base64 (a Fernet key); generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"",
      );
    }
    this.signingKey = raw.subarray(0, 16);
    this.encryptionKey = raw.subarray(16);
  }

  /** What to store for a secret. */
  seal(secret: string): string {
    if (!this.signingKey || !this.encryptionKey) {
      if (!this.warned) {
        this.warned = true;
        this.warn(
          'Webhook secrets are stored unencrypted because MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not set.',
        );
      }
      return secret;
    }
    const header = Buffer.alloc(9);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', this.encryptionKey, iv);
    const body = Buffer.concat([header, iv, cipher.update(secret, 'utf8'), cipher.final()]);
    const mac = createHmac('sha256', this.signingKey).update(body).digest();
    return urlsafeEncode(Buffer.concat([body, mac]));
  }

  /** The secret from what was stored. */
  open(stored: string): string {
    if (!stored.startsWith(FERNET_PREFIX)) return stored;
    if (!this.signingKey || !this.encryptionKey) {
      throw new MlflowError(
        'INTERNAL_ERROR',
        'This webhook secret is encrypted; set MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY to the key it was stored with.',
      );
    }
    const token = urlsafeDecode(stored);
    // version, timestamp, IV, at least one cipher block, MAC
    const valid = token.length >= 9 + 16 + 16 + 32 && token[0] === VERSION;
    const body = token.subarray(0, token.length - 32);
    const mac = token.subarray(token.length - 32);
    const expected = createHmac('sha256', this.signingKey).update(body).digest();
    if (!valid || !timingSafeEqual(mac, expected)) {
      throw new MlflowError(
        'INTERNAL_ERROR',
        'A webhook secret could not be decrypted: MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY is not the key it was stored with.',
      );
    }
    const decipher = createDecipheriv('aes-128-cbc', this.encryptionKey, body.subarray(9, 25));
    return Buffer.concat([decipher.update(body.subarray(25)), decipher.final()]).toString('utf8');
  }
}
