import { createHmac, randomUUID } from 'node:crypto';
import type { WebhookEvent } from '../entities/webhooks.js';

// Sends webhook requests the way MLflow does (its delivery follows the Standard Webhooks conventions):
// a JSON body {entity, action, timestamp, data}, headers X-MLflow-Delivery-Id and X-MLflow-Timestamp,
// and with a secret X-MLflow-Signature "v1,<base64 HMAC-SHA256 of '<delivery id>.<timestamp>.<body>'>".
// 429 and 5xx answers (500, 502, 503, 504) and network failures are retried with exponential backoff
// and jitter, honouring Retry-After.

export const SIGNATURE_HEADER = 'X-MLflow-Signature';
export const TIMESTAMP_HEADER = 'X-MLflow-Timestamp';
export const DELIVERY_ID_HEADER = 'X-MLflow-Delivery-Id';

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
/** Statuses whose Retry-After header is honoured (as urllib3, which MLflow's delivery uses). */
const RETRY_AFTER_STATUSES = new Set([413, 429, 503]);

export interface DeliverySettings {
  /** Retries after the first attempt (MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES, default 3). */
  maxRetries: number;
  /** Per attempt (MLFLOW_WEBHOOK_REQUEST_TIMEOUT, default 30 s). */
  timeoutMs: number;
  /** Requests in flight at once (MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS, default 10). */
  maxConcurrent: number;
  /** First backoff; doubled per retry (MLflow: 1 s). */
  backoffBaseMs: number;
  /** Cap on one wait, Retry-After included (MLflow: 60 s). */
  backoffMaxMs: number;
  /** Random extra wait up to this much per retry (MLflow: 1 s). */
  jitterMs: number;
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** MLflow's delivery settings, read from its environment variables. */
export function deliverySettingsFromEnv(): DeliverySettings {
  return {
    maxRetries: envInt('MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES', 3),
    timeoutMs: envInt('MLFLOW_WEBHOOK_REQUEST_TIMEOUT', 30) * 1000,
    maxConcurrent: Math.max(1, envInt('MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS', 10)),
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    jitterMs: 1000,
  };
}

export interface DeliveryTarget {
  url: string;
  secret?: string;
}

export interface DeliveryResult {
  status: number;
  body: string;
  attempts: number;
}

/** Python's datetime.isoformat() of a UTC time, which MLflow puts in the payload's timestamp. */
function pythonIsoTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function signature(secret: string, deliveryId: string, timestamp: string, body: string): string {
  const mac = createHmac('sha256', secret).update(`${deliveryId}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

function retryAfterMs(response: Response): number | undefined {
  if (!RETRY_AFTER_STATUSES.has(response.status)) return undefined;
  const header = response.headers.get('retry-after');
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class WebhookSender {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly settings: DeliverySettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /**
   * Sends one event to one webhook, retrying as MLflow does; resolves with the last answer (a final
   * 5xx included), rejects when the last attempt got no answer at all.
   */
  async send(target: DeliveryTarget, event: WebhookEvent, data: unknown): Promise<DeliveryResult> {
    const body = JSON.stringify({
      entity: event.entity,
      action: event.action,
      timestamp: pythonIsoTime(new Date()),
      data,
    });
    const deliveryId = randomUUID();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      [DELIVERY_ID_HEADER]: deliveryId,
      [TIMESTAMP_HEADER]: timestamp,
    };
    if (target.secret) headers[SIGNATURE_HEADER] = signature(target.secret, deliveryId, timestamp, body);

    const { maxRetries, backoffBaseMs, backoffMaxMs, jitterMs, timeoutMs } = this.settings;
    for (let attempt = 1; ; attempt++) {
      let wait: number | undefined;
      try {
        const response = await this.fetchImpl(target.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        if (!RETRY_STATUSES.has(response.status) || attempt > maxRetries) {
          return { status: response.status, body: text, attempts: attempt };
        }
        wait = retryAfterMs(response);
      } catch (error) {
        if (attempt > maxRetries) {
          const cause = (error as Error & { cause?: Error }).cause;
          throw new Error(
            `POST ${target.url} failed after ${attempt} attempt(s): ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`,
          );
        }
      }
      const backoff = wait ?? backoffBaseMs * 2 ** (attempt - 1) + Math.random() * jitterMs;
      await sleep(Math.min(backoff, backoffMaxMs));
    }
  }

  /**
   * Sends in the background, at most `maxConcurrent` at a time; the caller never waits. Failures go
   * to `onError`.
   */
  enqueue(target: DeliveryTarget, event: WebhookEvent, data: unknown, onError: (error: Error) => void): void {
    const start = () => {
      this.active++;
      const done = this.send(target, event, data)
        .then((result) => {
          if (result.status >= 400) {
            onError(
              new Error(`POST ${target.url} answered ${result.status} after ${result.attempts} attempt(s)`),
            );
          }
        })
        .catch(onError)
        .finally(() => {
          this.active--;
          this.inFlight.delete(done);
          this.queue.shift()?.();
        });
      this.inFlight.add(done);
    };
    if (this.active < this.settings.maxConcurrent) start();
    else this.queue.push(start);
  }

  /** Resolves once every delivery sent or queued so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.queue.length > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }
}
