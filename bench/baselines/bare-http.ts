/**
 * Baseline: the least a Node HTTP server can do for the same request: read it and answer
 * with the same JSON body the API gives (passed in BODY), with no GraphQL and no database.
 */
import { createServer } from 'node:http';
import { listenAsBaseline } from '../lib/baseline.js';

const body = Buffer.from(process.env.BODY ?? '{}');

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 5_000;

listenAsBaseline(server);
