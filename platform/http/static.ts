/**
 * Serves the web UI (the Vite build in web/dist) at `/`.
 *
 * - Hashed assets (`/assets/*`) are cached for a year: a new build has new names.
 * - Any other GET that is not a file and not an API, docs or media path gets index.html
 *   (not cached), so a deep link or a reload lands in the single-page app.
 * - /api, /docs and /media paths never fall back to HTML: an unknown one stays a JSON 404,
 *   which is how the UI tells "this API does not exist yet" from a page.
 * - A missing build does not stop the API from starting; the UI paths answer 503 with the
 *   command that builds it.
 *
 *   await app.register(webStatic);            // after buildApp()
 */
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WebStaticOptions {
  /** The built UI; default: web/dist of this repository. */
  distDir?: string;
}

export const DEFAULT_WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../web/dist');
export const WEB_NOT_BUILT = 'The web UI is not built: run `npm run build:web`';

/** Paths that belong to the server, never to the single-page app. */
const SERVER_PATHS = /^\/(api|docs|media)(\/|$)/;
/** A last segment with an extension is a file request: a missing one is a 404, not the app. */
const FILE_LIKE = /\/[^/]+\.[a-z0-9]+$/i;

export const webStatic: FastifyPluginAsync<WebStaticOptions> = async (app, opts) => {
  const root = opts.distDir ?? DEFAULT_WEB_DIST;
  const index = resolve(root, 'index.html');
  // Checked per request until found, so building after start-up needs no restart.
  let built = existsSync(index);
  if (!built) app.log.warn({ root }, WEB_NOT_BUILT);

  // serve: false: only reply.sendFile (path checks, ETag, Range); the routing is ours.
  await app.register(fastifyStatic, { root, serve: false, suppressWarning: true });

  app.get('/*', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent((req.raw.url ?? '/').split('?')[0]!);
    } catch {
      return reply.callNotFound();
    }
    if (SERVER_PATHS.test(path)) return reply.callNotFound();
    built ||= existsSync(index);
    if (!built) {
      return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${WEB_NOT_BUILT} (looked in ${root})\n`);
    }
    if (FILE_LIKE.test(path)) {
      const immutable = path.startsWith('/assets/');
      // sendFile resolves inside root and refuses `..`; a missing file calls the JSON 404.
      return reply.sendFile(path.slice(1), immutable ? { maxAge: '365d', immutable: true } : { maxAge: 0 });
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { maxAge: 0, cacheControl: false });
  });
};
