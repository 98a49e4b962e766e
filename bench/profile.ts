/**
 * A CPU profile of part of a benchmark case (V8's sampling profiler through node:inspector), told
 * as the functions that took the most time themselves and as areas (our nodes and clients, n8n's
 * engine, the HTTP stack, garbage collection, waiting).
 */
import { Session } from 'node:inspector/promises';
import path from 'node:path';

import { ROOT } from './support';

export interface ProfileEntry {
	/** `function (file:line)`, files relative to the repository or named by their package. */
	name: string;
	/** Share of the profiled time spent in the function itself. */
	percent: number;
}

export interface ProfileSummary {
	seconds: number;
	top: ProfileEntry[];
	areas: ProfileEntry[];
}

interface CallFrame {
	functionName: string;
	url: string;
	lineNumber: number;
}

export interface Profile {
	nodes: Array<{ id: number; callFrame: CallFrame }>;
	samples: number[];
	timeDeltas: number[];
}

/**
 * Where a script lives: a path in the repository, or `<package>/…` below node_modules; this
 * package as n8n installed it (B8) counts as the repository (`dist/lib/…` is `lib/…`).
 */
function fileOf(url: string): string {
	const file = url.replace(/^file:\/\//, '');
	const modules = file.lastIndexOf('node_modules/');
	if (modules >= 0) {
		const inPackage = file.slice(modules + 'node_modules/'.length);
		return inPackage.replace(/^n8n-nodes-dynamics-campaign\/dist\//, '');
	}
	return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

function areaOf(frame: CallFrame): string {
	const file = fileOf(frame.url);
	if (!file) {
		if (frame.functionName === '(idle)') return 'waiting (idle)';
		if (frame.functionName === '(garbage collector)') return 'garbage collection';
		return 'V8 and native code';
	}
	if (/^(lib|nodes)\//.test(file)) return 'our nodes and clients (lib/, nodes/)';
	if (/^(test|bench|sandbox)\//.test(file)) return 'benchmark harness';
	if (/^n8n-core\//.test(file)) return "n8n's engine and request helper (n8n-core)";
	if (/^n8n-workflow\//.test(file)) return 'n8n-workflow';
	if (/^(axios|follow-redirects|proxy-from-env|form-data|@n8n\/backend-network)\//.test(file))
		return 'HTTP client (axios, @n8n/backend-network)';
	if (/^node:/.test(file)) return 'Node.js (sockets, HTTP, buffers)';
	if (/^typescript\//.test(file)) return 'TypeScript compiler (loading the code)';
	if (/^(n8n|@n8n\/[^/]+)\//.test(file)) return "n8n's server and its packages (n8n, @n8n/…)";
	if (/^(typeorm|sqlite3|flatted)\//.test(file))
		return 'database (TypeORM, SQLite) and execution data';
	return 'other packages';
}

/** A V8 CPU profile (`Profiler.stop`'s answer) told as its top functions and areas. */
export function summarize(profile: Profile, top: number): ProfileSummary {
	const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
	const byName = new Map<string, number>();
	const byArea = new Map<string, number>();
	let total = 0;
	profile.samples.forEach((id, i) => {
		const delta = profile.timeDeltas[i] ?? 0;
		const frame = frames.get(id)!;
		const file = fileOf(frame.url);
		const name = `${frame.functionName || '(anonymous)'}${file ? ` (${file}:${frame.lineNumber + 1})` : ''}`;
		byName.set(name, (byName.get(name) ?? 0) + delta);
		byArea.set(areaOf(frame), (byArea.get(areaOf(frame)) ?? 0) + delta);
		total += delta;
	});
	const entries = (m: Map<string, number>, count: number) =>
		[...m]
			.sort((a, b) => b[1] - a[1])
			.slice(0, count)
			.map(([name, us]) => ({ name, percent: (us / total) * 100 }));
	return { seconds: total / 1e6, top: entries(byName, top), areas: entries(byArea, 20) };
}

/** Runs `fn` under the CPU profiler and summarizes where this process spent its time. */
export async function profiled<T>(
	fn: () => Promise<T>,
	top = 15,
): Promise<{ value: T; profile: ProfileSummary }> {
	const session = new Session();
	session.connect();
	try {
		await session.post('Profiler.enable');
		await session.post('Profiler.setSamplingInterval', { interval: 1000 });
		await session.post('Profiler.start');
		const value = await fn();
		const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
		return { value, profile: summarize(profile, top) };
	} finally {
		session.disconnect();
	}
}
