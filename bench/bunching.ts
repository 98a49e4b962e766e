/**
 * Where a request's time goes at a gateway that holds 20 requests at once, 100 ms each (B7's
 * concurrency limit), without n8n: a plain Node server in a process of its own, and clients that
 * send exactly 20 at a time with a new connection per request (as n8n's helper does), first
 * Node's own HTTP client, then axios (the client under n8n's helper). For each: requests per
 * second as a share of the bound (20 ÷ the mean time the server held a request), the mean time a
 * request took to come back, and the mean time from a request's creation to its arrival at the
 * server and from the server's answer to its arrival at the client (both processes stamp
 * `Date.now()`), and how busy the client's event loop was (a queue forms at moments, not on
 * average). B7's report explains with it why a node sending exactly at the limit through
 * n8n's helper gets about 0.85× of the bound.
 * `npm run bench:bunching`; prints JSON.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

import axios from 'axios';

const PLACES = 20;
const LATENCY_MS = 100;
const REQUESTS = 3000;

interface Held {
	requests: number;
	heldMs: number;
	upMs: number;
}

/** The server: `PLACES` at once (429 beyond), each answered `LATENCY_MS` after it arrived. */
function serve(): void {
	let inFlight = 0;
	let held: Held = { requests: 0, heldMs: 0, upMs: 0 };
	const server = http.createServer((req, res) => {
		if (req.url === '/held') {
			res.end(JSON.stringify(held));
			held = { requests: 0, heldMs: 0, upMs: 0 };
			return;
		}
		if (inFlight >= PLACES) {
			res.writeHead(429, { 'Retry-After': '1' });
			res.end('{}');
			return;
		}
		inFlight++;
		const arrived = Date.now();
		held.upMs += arrived - Number(req.headers['x-sent']);
		res.once('close', () => {
			inFlight--;
			held.requests++;
			held.heldMs += Date.now() - arrived;
		});
		req.resume();
		req.on('end', () =>
			setTimeout(() => {
				res.writeHead(200, { 'Content-Type': 'application/json', 'X-Done': String(Date.now()) });
				res.end('{"ok":true}');
			}, LATENCY_MS),
		);
	});
	server.listen(0, '127.0.0.1', () => {
		const address = server.address();
		process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
	});
	process.on('disconnect', () => process.exit(0));
}

type Send = (url: string) => Promise<{ status: number; done: number }>;

const nodeClient: Send = (url) =>
	new Promise((resolve, reject) => {
		const req = http.request(
			url,
			{ agent: new http.Agent(), headers: { 'X-Sent': String(Date.now()) } },
			(res) => {
				res.resume();
				res.on('end', () =>
					resolve({ status: res.statusCode ?? 0, done: Number(res.headers['x-done']) }),
				);
			},
		);
		req.on('error', reject);
		req.end();
	});

const axiosClient: Send = async (url) => {
	const res = await axios.get(url, {
		httpAgent: new http.Agent(),
		proxy: false,
		headers: { 'X-Sent': String(Date.now()) },
		validateStatus: () => true,
	});
	return { status: res.status, done: Number(res.headers['x-done']) };
};

async function measure(base: string, send: Send) {
	let next = 0;
	let roundTripMs = 0;
	let downMs = 0;
	let refused = 0;
	const loop = performance.eventLoopUtilization();
	const started = Date.now();
	const worker = async () => {
		while (next++ < REQUESTS) {
			const sent = Date.now();
			const { status, done } = await send(`${base}/record`);
			const now = Date.now();
			if (status !== 200) refused++;
			roundTripMs += now - sent;
			downMs += now - done;
		}
	};
	await Promise.all(Array.from({ length: PLACES }, worker));
	const seconds = (Date.now() - started) / 1000;
	const clientBusy = performance.eventLoopUtilization(loop).utilization;
	const held = (await axios.get<Held>(`${base}/held`, { proxy: false })).data;
	const heldMs = held.heldMs / held.requests;
	const perSecond = REQUESTS / seconds;
	return {
		perSecond: Math.round(perSecond),
		ratioToBound: Number((perSecond / ((PLACES * 1000) / heldMs)).toFixed(3)),
		heldMs: Number(heldMs.toFixed(1)),
		roundTripMs: Number((roundTripMs / REQUESTS).toFixed(1)),
		upMs: Number((held.upMs / held.requests).toFixed(1)),
		downMs: Number((downMs / REQUESTS).toFixed(1)),
		clientBusy: Number(clientBusy.toFixed(2)),
		refused,
	};
}

async function main(): Promise<void> {
	const child = fork(__filename, ['serve'], { stdio: 'inherit' });
	try {
		const port = await new Promise<number>((resolve) =>
			child.once('message', (m: { port: number }) => resolve(m.port)),
		);
		const base = `http://127.0.0.1:${port}`;
		const results = {
			places: PLACES,
			latencyMs: LATENCY_MS,
			requests: REQUESTS,
			node: await measure(base, nodeClient),
			axios: await measure(base, axiosClient),
		};
		process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
	} finally {
		child.kill();
	}
}

if (process.argv[2] === 'serve') {
	serve();
} else {
	main().catch((error) => {
		process.stderr.write(`${error?.stack ?? error}\n`);
		process.exit(1);
	});
}
