// The web UI's sign-in: the sign-in methods on offer, a password sign-in that starts a session,
// OpenID Connect (redirect to the provider and its callback), sign-out, and MLflow's /signup form
// (an admin's page whose form posts users/create as application/x-www-form-urlencoded).
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AuthService } from '../auth/auth-service.js';
import { currentCaller } from '../auth/caller-scope.js';
import { clearedCookie, LOGIN_COOKIE, SESSION_COOKIE } from '../auth/web-session.js';
import { MlflowError } from '../entities/errors.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';
/** A signup form must be posted within this time of being shown. */
const SIGNUP_FORM_TTL_MS = 60 * 60_000;

function isHttps(request: FastifyRequest, auth: AuthService): boolean {
  return request.protocol === 'https' || !!auth.oidc?.config.redirectUrl.startsWith('https:');
}

/** A path on this server to go back to; anything else (another site, `//host`) is the UI's root. */
function localPath(value: unknown): string {
  return typeof value === 'string' &&
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.includes('\\')
    ? value
    : '/';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.status(status).type('application/json').send(JSON.stringify(body));
}

function errorBody(error: MlflowError) {
  return { error_code: error.errorCode, message: error.message };
}

/** The answer to a form post: MLflow shows its message in an alert and moves on to `href`. */
function alertPage(reply: FastifyReply, message: string, href: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><meta charset="utf-8"><script>alert(${JSON.stringify(message).replace(/</g, '\\u003c')}); window.location.href = ${JSON.stringify(href)};</script>`,
    );
}

function signupPage(token: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign up a user · MLflow</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f5f5f5; }
  form { background: #fff; border: 1px solid #ccc; border-radius: 4px; padding: 20px; max-width: 400px; margin: 40px auto; }
  input[type=text], input[type=password] { width: 100%; padding: 8px; margin: 4px 0 12px; box-sizing: border-box; }
  input[type=submit] { background: #2272b4; color: #fff; border: 0; border-radius: 4px; padding: 8px 16px; cursor: pointer; }
</style></head>
<body>
<form action="/api/2.0/mlflow/users/create" method="post">
  <h2>Sign up a user</h2>
  <input type="hidden" name="csrf_token" value="${escapeHtml(token)}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" minlength="1" required>
  <label for="password">Password (at least 12 characters)</label>
  <input type="password" id="password" name="password" minlength="12" required>
  <input type="submit" value="Sign up">
</form>
</body></html>`;
}

/** Reads a form body into a plain object (its first value of each field). */
function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) if (!(key in out)) out[key] = value;
  return out;
}

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === FORM_TYPE;
}

/**
 * MLflow's signup form posts users/create as a form: the answer is a page that says what happened
 * and goes on (to the UI, or back to the form when the name is taken). The form carries a token
 * signed for the admin it was shown to, so another site cannot post it with the admin's credentials.
 */
function signupFormHandler(auth: AuthService): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    if (!isFormPost(request)) return;
    const form = (request.body ?? {}) as Record<string, string>;
    const caller = currentCaller();
    const token = form.csrf_token ? auth.cookies.unsign(form.csrf_token) : undefined;
    const [kind, username, at] = (token ?? '').split('\n');
    if (
      !caller ||
      kind !== 'signup' ||
      username !== caller.username ||
      !(Date.now() - Number(at) < SIGNUP_FORM_TTL_MS)
    ) {
      return reply
        .status(400)
        .type('text/plain; charset=utf-8')
        .send('The signup form has expired or did not come from this server; open /signup again.');
    }
    if (!form.username || !form.password) {
      return reply
        .status(400)
        .type('text/plain; charset=utf-8')
        .send('Username and password cannot be empty.');
    }
    try {
      await auth.createUser(form.username, form.password);
    } catch (error) {
      if (error instanceof MlflowError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        return alertPage(reply, `Username has already been taken: ${form.username}`, '/signup');
      }
      throw error;
    }
    return alertPage(reply, `Successfully signed up user: ${form.username}`, '/');
  };
}

/**
 * Registers the sign-in routes and the signup form's handling of users/create. Call before the
 * users/create endpoint is registered (its form handling is added as that route is).
 */
export function webAuthRoutes(app: FastifyInstance, auth: AuthService): void {
  // Form bodies (the signup form's) as plain objects; every other route still refuses them for
  // their Content-Type before reading any field.
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseForm(body as string));
  });
  const formHandler = signupFormHandler(auth);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.includes('POST') && /^\/(ajax-)?api\/2\.0\/mlflow\/users\/create$/.test(route.url)) {
      route.preHandler = [route.preHandler ?? []].flat().concat(formHandler);
    }
  });

  app.get('/signup', async (_request, reply) => {
    const caller = currentCaller();
    if (!caller) throw new MlflowError('PERMISSION_DENIED', 'Permission denied');
    const token = auth.cookies.sign(['signup', caller.username, String(Date.now())].join('\n'));
    return reply.type('text/html; charset=utf-8').send(signupPage(token));
  });

  app.get('/auth/config', async (_request, reply) =>
    sendJson(reply, 200, {
      basic_auth: true,
      ...(auth.oidc ? { oidc: { provider_name: auth.oidc.config.providerName } } : {}),
    }),
  );

  app.post('/auth/login', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const { username, password } = body;
    if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
      throw MlflowError.invalidParameter('Sign-in needs a username and a password.');
    }
    const caller = await auth.checkPassword(username, password);
    if (!caller) {
      return sendJson(reply, 401, { error_code: 'UNAUTHENTICATED', message: 'Wrong username or password.' });
    }
    const token = await auth.startSession(caller);
    reply.header(
      'Set-Cookie',
      auth.cookies.sessionCookie(token, isHttps(request, auth), auth.sessionLifetimeMs),
    );
    return sendJson(reply, 200, { user: { username: caller.username, is_admin: caller.isAdmin } });
  });

  app.post('/auth/logout', async (request, reply) => {
    const token = auth.cookies.sessionToken(request.headers.cookie);
    if (token) await auth.endSession(token);
    reply.header('Set-Cookie', clearedCookie(SESSION_COOKIE, '/', isHttps(request, auth)));
    return sendJson(reply, 200, {});
  });

  app.get('/auth/oidc/login', async (request, reply) => {
    if (!auth.oidc) {
      throw new MlflowError('FEATURE_DISABLED', 'OpenID Connect sign-in is not configured on this server.');
    }
    const query = (request.query ?? {}) as Record<string, unknown>;
    const { url, pending } = await auth.oidc.begin(localPath(query.return_to));
    reply.header('Set-Cookie', auth.cookies.loginCookie(pending, isHttps(request, auth)));
    return reply.redirect(url, 302);
  });

  app.get('/auth/oidc/callback', async (request, reply) => {
    const oidc = auth.oidc;
    if (!oidc) {
      throw new MlflowError('FEATURE_DISABLED', 'OpenID Connect sign-in is not configured on this server.');
    }
    const secure = isHttps(request, auth);
    const pending = auth.cookies.pendingLogin(request.headers.cookie);
    // Whatever happens next, this login attempt is over: its state cannot be used twice.
    reply.header('Set-Cookie', clearedCookie(LOGIN_COOKIE, '/auth/oidc/', secure));
    if (!pending) {
      return sendJson(
        reply,
        400,
        errorBody(
          MlflowError.invalidParameter(
            'No OpenID Connect sign-in is in progress in this browser (or it took over 10 minutes); sign in again.',
          ),
        ),
      );
    }
    // The URL the provider redirected to, as openid-client must see it: the configured callback with
    // the query this request carries.
    const callback = new URL(oidc.config.redirectUrl);
    callback.search = (request.raw.url ?? '').split('?')[1] ?? '';
    let identity: Awaited<ReturnType<typeof oidc.finish>>;
    try {
      identity = await oidc.finish(callback, pending);
    } catch (error) {
      if (error instanceof MlflowError) return sendJson(reply, 400, errorBody(error));
      throw error;
    }
    const caller = await auth.oidcUser(identity);
    const token = await auth.startSession(caller);
    reply.header('Set-Cookie', [
      clearedCookie(LOGIN_COOKIE, '/auth/oidc/', secure),
      auth.cookies.sessionCookie(token, secure, auth.sessionLifetimeMs),
    ]);
    return reply.redirect(pending.returnTo, 302);
  });
}
