// Ory Polis (npm @boxyhq/saml-jackson) directory-sync SCIM 2.0 endpoint on node:http, for
// bench/polis_compare.py. Not part of scimhub; run only by that benchmark.
//
//   node bench/polis/server.mjs --prefix <npm prefix holding node_modules> \
//        --db <sqlite file> --port <port>
//
// Initialises Jackson on its SQL engine with SQLite (better-sqlite3 through TypeORM), creates
// one `generic-scim-v2` directory, and serves its SCIM API as Polis's own Next.js route
// `pages/api/scim/v2.0/[...directory].ts` does: the path gives directoryId / resourceType /
// resourceId, the bearer token is the directory's SCIM secret, the JSON body and the query
// (count, startIndex, filter, includeMembers) go to `directorySyncController.requests.handle`,
// and its { status, data } is the answer. When ready it prints one JSON line on stdout:
//   {"ready": true, "base": "http://127.0.0.1:<port>/api/scim/v2.0/<id>", "secret": "...", ...}
// Loopback only. Stops on SIGINT / SIGTERM.

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    prefix: { type: 'string' },
    db: { type: 'string' },
    port: { type: 'string' },
  },
});
if (!args.prefix || !args.db || !args.port) {
  console.error('usage: server.mjs --prefix DIR --db FILE --port N');
  process.exit(2);
}
const port = Number(args.port);
const require = createRequire(path.join(path.resolve(args.prefix), 'package.json'));
const jackson = require('@boxyhq/saml-jackson').default;
const jacksonVersion = require('@boxyhq/saml-jackson/package.json').version;
const Sqlite = require('better-sqlite3');
const sqliteVersion = new Sqlite(':memory:').prepare('select sqlite_version() as v').get().v;

const quiet = { info: () => {}, warn: () => {}, error: (msg, err) => console.error(msg, err ?? '') };
const externalUrl = `http://127.0.0.1:${port}`;
const scimPath = '/api/scim/v2.0';
const polis = await jackson({
  externalUrl,
  samlPath: '/api/oauth/saml',
  scimPath,
  db: { engine: 'sql', type: 'sqlite', url: path.resolve(args.db) },
  noAnalytics: true, // no telemetry calls out
  logger: quiet,
});
const dsync = polis.directorySyncController;

const { data: directory, error } = await dsync.directories.create({
  name: 'bench',
  tenant: 'bench.example',
  product: 'scimhub-bench',
  type: 'generic-scim-v2',
});
if (error) {
  console.error('creating the directory failed:', error);
  process.exit(1);
}

// /api/scim/v2.0/<directoryId>/<Users|Groups>[/<resourceId>]
const ROUTE = /^\/api\/scim\/v2\.0\/([^/]+)\/([^/]+)(?:\/([^/]+))?\/?$/;

function send(res, status, data) {
  const body = JSON.stringify(data ?? {});
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function parseBody(text) {
  // Polis's bodyParser: JSON when it parses to an object, else the raw value.
  if (!text) return undefined;
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' ? value : text;
  } catch {
    return text;
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const url = new URL(req.url, externalUrl);
      const m = ROUTE.exec(url.pathname);
      if (!m) return send(res, 404, { detail: 'not found' });
      const [, directoryId, resourceType, resourceId] = m.map((p) => p && decodeURIComponent(p));
      const auth = req.headers.authorization || '';
      const q = url.searchParams;
      const { status, data } = await dsync.requests.handle({
        body: parseBody(Buffer.concat(chunks).toString('utf8')),
        method: req.method,
        directoryId,
        resourceId,
        resourceType,
        apiSecret: auth.startsWith('Bearer ') ? auth.slice(7) : null,
        query: {
          count: q.has('count') ? parseInt(q.get('count'), 10) : undefined,
          startIndex: q.has('startIndex') ? parseInt(q.get('startIndex'), 10) : undefined,
          filter: q.get('filter') ?? undefined,
          includeMembers: q.get('includeMembers') === 'true',
        },
      });
      send(res, status, data);
    } catch (err) {
      console.error('request failed:', err);
      if (!res.headersSent) send(res, 500, { detail: String(err) });
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(
    JSON.stringify({
      ready: true,
      base: `${externalUrl}${scimPath}/${directory.id}`,
      path: `${scimPath}/${directory.id}`,
      secret: directory.scim.secret,
      directoryId: directory.id,
      jackson: jacksonVersion,
      node: process.version,
      sqlite: sqliteVersion,
    }),
  );
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  try {
    await polis.close();
  } finally {
    process.exit(0);
  }
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
