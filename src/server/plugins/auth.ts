/**
 * Bearer-key auth. Each route says what it needs in its config (`auth: 'none' | 'inference' |
 * 'admin'`); a route that says nothing needs an inference key, so a new route is closed unless
 * it opts out. Keys are compared in constant time: both sides are hashed to equal-length digests
 * and every configured key is compared, so timing reveals neither a key's prefix nor its position.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../problems.js';

export type AuthLevel = 'none' | 'inference' | 'admin';
export type Role = 'anonymous' | 'inference' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which key a route needs; default 'inference'. */
    auth?: AuthLevel;
  }
  interface FastifyRequest {
    /** Who the bearer key says the caller is. */
    role: Role;
  }
}

export interface AuthPluginOptions {
  /** API_KEYS: inference keys. Empty: inference routes are open. */
  apiKeys: readonly string[];
  /** ADMIN_API_KEYS: admin keys, also valid for inference. Empty: admin routes are refused. */
  adminApiKeys: readonly string[];
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** True when `presented` equals one of `keys`; always compares against all of them. */
function matchesAny(presented: Buffer, keys: readonly Buffer[]): boolean {
  let found = false;
  for (const key of keys) found = timingSafeEqual(presented, key) || found;
  return found;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function challenge(reply: FastifyReply, detail: string): UnauthorizedError {
  reply.header('www-authenticate', 'Bearer realm="distillery"');
  return new UnauthorizedError(detail);
}

async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  const inferenceKeys = opts.apiKeys.map(digest);
  const adminKeys = opts.adminApiKeys.map(digest);
  const inferenceOpen = inferenceKeys.length === 0;

  app.decorateRequest('role', 'anonymous');

  app.addHook('onRequest', async (request, reply) => {
    // Unknown URLs have no route config: let them reach the 404 handler.
    if (request.is404) return;
    const level: AuthLevel = request.routeOptions.config.auth ?? 'inference';
    const token = bearerToken(request);
    const presented = token === undefined ? undefined : digest(token);
    const isAdmin = presented !== undefined && matchesAny(presented, adminKeys);
    const isInference = presented !== undefined && !isAdmin && matchesAny(presented, inferenceKeys);
    request.role = isAdmin ? 'admin' : isInference ? 'inference' : 'anonymous';

    if (level === 'none') return;
    if (level === 'inference') {
      if (inferenceOpen || isAdmin || isInference) return;
      throw challenge(
        reply,
        token === undefined
          ? 'this route needs an API key: send Authorization: Bearer <key> with a key from API_KEYS'
          : 'the API key is not known to this server; check the Authorization header',
      );
    }
    // Admin.
    if (adminKeys.length === 0) {
      throw new ForbiddenError('admin routes are disabled because ADMIN_API_KEYS is not set on the server; set it and send one of its keys');
    }
    if (isAdmin) return;
    if (isInference) throw new ForbiddenError('this key may only call inference routes; use a key from ADMIN_API_KEYS');
    throw challenge(
      reply,
      token === undefined
        ? 'this route needs an admin key: send Authorization: Bearer <key> with a key from ADMIN_API_KEYS'
        : 'the API key is not known to this server; check the Authorization header',
    );
  });
}

export default fp(authPlugin, { name: 'distillery-auth', fastify: '5.x' });
