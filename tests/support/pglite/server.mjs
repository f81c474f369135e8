// PGlite (PostgreSQL 17 in WASM, with the real pgvector extension) served over
// the PostgreSQL wire protocol on 127.0.0.1:PORT, for store_postgres's pgvector
// tests (Debian 12 has no pgvector). PGlite is one single-user backend:
// use ONE client at a time (the protocol messages of two clients' queries
// would interleave). `maxConnections` is above one only so that a client
// connecting right after another closed is not refused while pglite-socket
// is still tidying up the old one.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}
const db = await PGlite.create({ extensions: { vector } });
const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 16 });
await server.start();
console.log(`listening on ${port}`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    await server.stop();
    await db.close();
    process.exit(0);
  });
}
