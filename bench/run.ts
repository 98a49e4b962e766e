/**
 * `npm run bench [-- --quick | --scale | --only=<id prefix> | --render]`: runs every benchmark case
 * in its own process, side by side with its peer, and writes bench/REPORT.md and bench/report.json (quick:
 * bench/results/REPORT.quick.md and report.quick.json), plus a dated copy of the figures in
 * bench/results/. The report is rewritten after every case, so an interrupted run still reports
 * what it measured. `--scale` runs only the largest sizes (B3's 1,999,999-record replay, B6's
 * 1,000,000 pairs; `--scale --only=b6` one of them) and merges them into the full report, and a full
 * run keeps the `--scale` figures of the report it replaces, dated; `--render` only rewrites
 * REPORT.md from report.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT, runtimeInstalled } from './support';
import { processorsOf, renderReport, type BenchResults, type CaseResult } from './report';

const quick = process.argv.includes('--quick');
/** `--only=<id prefix>`: reruns those cases and merges them into the existing report. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
/** `--scale`: only the largest sizes, merged into the existing full report. */
const scale = process.argv.includes('--scale');
/** `--render`: rewrites REPORT.md from report.json without measuring anything. */
const renderOnly = process.argv.includes('--render');

interface Plan {
	id: string;
	caseName: string;
	params: Record<string, unknown>;
	timeoutSeconds: number;
}

/** B3 sizes: a replay may not start at 2,000,000 records or more, so the largest is one less. */
const B3_FULL = [100_000, 500_000];
const B3_SCALE = 1_999_999;
/** B6 sizes: the first opt-in/out cycle at 100,000 pairs, and 1,000,000 in `--scale`. */
const B6_FULL = 100_000;
const B6_SCALE = 1_000_000;
/** The cases only `--scale` runs (each takes about as long as the whole full run). */
const SCALE_IDS = [`b3-${B3_SCALE}`, `b6-${B6_SCALE}`];

function plan(mode = { quick, scale }): Plan[] {
	if (mode.scale) {
		// `--scale`: the largest sizes (about 30 minutes each here), merged into the full report.
		return [
			{ id: `b3-${B3_SCALE}`, caseName: 'b3', params: { count: B3_SCALE }, timeoutSeconds: 3600 },
			{ id: `b6-${B6_SCALE}`, caseName: 'b6', params: { pairs: B6_SCALE }, timeoutSeconds: 3600 },
		];
	}
	const q = mode.quick;
	const b2Count = q ? 2000 : 20_000;
	const b3Sizes = q ? [1000, 5000] : B3_FULL;
	const cases: Plan[] = [
		{
			id: 'b1',
			caseName: 'b1',
			params: { count: q ? 5000 : 100_000, repeat: 2 },
			timeoutSeconds: 900,
		},
	];
	// The quick run keeps 20 ms, the latency the targets name, to stay within 5 minutes.
	for (const latencyMs of q ? [20] : [0, 20]) {
		// The ceilings with creates are the bounds of the loads' target, named at 20 ms only; each
		// runs right after its load, so that a machine whose speed drifts over minutes (a shared
		// one does) moves both alike.
		const variants =
			latencyMs === 20
				? ['oursUnique', 'ceilingCreate', 'ours', 'ceilingLookupCreate', 'handBuilt', 'ceiling']
				: ['ours', 'oursUnique', 'handBuilt', 'ceiling'];
		for (const variant of variants) {
			cases.push({
				id: `b2-${variant}-${latencyMs}ms`,
				caseName: 'b2',
				params: { variant, count: b2Count, latencyMs },
				timeoutSeconds: 600,
			});
		}
	}
	// Where the time of a load goes (its speed under the profiler is not a figure).
	if (!q) {
		cases.push({
			id: 'b2-profile-20ms',
			caseName: 'b2',
			params: { variant: 'oursUnique', count: b2Count, latencyMs: 20, profile: true },
			timeoutSeconds: 600,
		});
	}
	for (const variant of ['ours', 'ours-defaults', 'oneByOne']) {
		cases.push({
			id: `b4-${variant}`,
			caseName: 'b4',
			params: { variant, events: q ? 3000 : 100_000 },
			timeoutSeconds: 900,
		});
	}
	const changes = q ? 100 : 1000;
	for (const profiles of q ? [5000, 1000] : [100_000, 10_000]) {
		cases.push({
			id: `b5-${profiles}`,
			caseName: 'b5',
			params: { profiles, changes },
			timeoutSeconds: 600,
		});
	}
	// The first opt-in/out cycle over every pair, run after run (B6).
	const pairs = q ? 10_000 : B6_FULL;
	cases.push({ id: `b6-${pairs}`, caseName: 'b6', params: { pairs }, timeoutSeconds: 900 });
	// Campaign's gateway throttling at a concurrency and at a rate (B7).
	const concurrencyLimit = { latencyMs: 100, maxConcurrent: 20 };
	const limits = [
		{ name: 'concurrency', ...concurrencyLimit },
		{ name: 'rate', latencyMs: 20, maxPerSecond: 400 },
	];
	for (const { name, ...limit } of limits) {
		for (const variant of ['adaptive', 'fixed']) {
			cases.push({
				id: `b7-${name}-${variant}`,
				caseName: 'b7',
				params: { variant, count: q ? 1000 : 20_000, ...limit },
				timeoutSeconds: 900,
			});
		}
	}
	// Campaign Upsert fixed at one above the concurrency limit: whether sending more than the
	// gateway takes gets more through (a steady rate: a few round trips of refusals tell it).
	cases.push({
		id: 'b7-concurrency-aboveLimit',
		caseName: 'b7',
		params: { variant: 'aboveLimit', count: q ? 1000 : 2000, ...concurrencyLimit },
		timeoutSeconds: 600,
	});
	// What n8n's request helper alone gets at exactly the concurrency limit (a steady rate: fewer
	// records tell it).
	cases.push({
		id: 'b7-concurrency-helperAtLimit',
		caseName: 'b7',
		params: { variant: 'helperAtLimit', count: q ? 1000 : 5000, ...concurrencyLimit },
		timeoutSeconds: 600,
	});
	for (const count of b3Sizes) {
		cases.push({ id: `b3-${count}`, caseName: 'b3', params: { count }, timeoutSeconds: 1200 });
	}
	return cases;
}

/** Where a case stands in a full report: the `--scale` sizes first, then a full run's order. */
const FULL_ORDER = [...SCALE_IDS, ...plan({ quick: false, scale: false }).map((c) => c.id)];
function orderOf(id: string): number {
	const at = FULL_ORDER.indexOf(id);
	return at >= 0 ? at : FULL_ORDER.length;
}

/** Runs one case in a fresh process; kills it (and only it) after its timeout. */
function runCase(p: Plan): Promise<CaseResult> {
	return new Promise((resolve) => {
		const started = Date.now();
		const child = spawn(
			process.execPath,
			[
				'--max-old-space-size=8192',
				// ts-node, not the cache of bench/ts-cache.js the processes a case starts use: the
				// peak memory of this process is a figure, and it has been measured with ts-node's
				// compiler loaded (about 150 MiB), the largest sizes included.
				'-r',
				'ts-node/register/transpile-only',
				path.join(ROOT, 'bench/case.ts'),
				p.caseName,
				JSON.stringify(p.params),
			],
			{
				cwd: ROOT,
				env: { ...process.env, TS_NODE_PREFER_TS_EXTS: 'true' },
				stdio: ['ignore', 'pipe', 'pipe'],
				detached: true,
			},
		);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => {
			stderr += `\ntimed out after ${p.timeoutSeconds} s`;
			// The case and the sandbox process it started share this process group.
			if (child.pid) process.kill(-child.pid, 'SIGKILL');
		}, p.timeoutSeconds * 1000);
		child.on('exit', (code) => {
			clearTimeout(timer);
			const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
			const seconds = (Date.now() - started) / 1000;
			if (code === 0 && line) {
				resolve({
					id: p.id,
					params: p.params,
					ok: true,
					wallSeconds: seconds,
					measuredAt: new Date().toISOString(),
					result: JSON.parse(line.slice(7)),
				});
			} else {
				resolve({
					id: p.id,
					params: p.params,
					ok: false,
					wallSeconds: seconds,
					error: (stderr.trim().split('\n').slice(-6).join('\n') || `exit code ${code}`).slice(
						0,
						2000,
					),
				});
			}
		});
	});
}

async function main() {
	if (renderOnly) {
		const file = path.join(ROOT, 'bench/report.json');
		const results = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
		fs.writeFileSync(path.join(ROOT, 'bench/REPORT.md'), renderReport(results));
		process.stdout.write('Rewrote bench/REPORT.md from bench/report.json\n');
		return;
	}
	if (!runtimeInstalled()) {
		// The built-in peers come from n8n's own package, installed with the n8n runtime.
		const { installRuntime } = await import('../sandbox/n8n/install-runtime');
		await installRuntime();
	}
	const results: BenchResults = {
		mode: quick ? 'quick' : 'full',
		date: new Date().toISOString(),
		machine: {
			cpus: os.cpus().length,
			cpuModel: os.cpus()[0]?.model ?? 'unknown',
			memoryBytes: os.totalmem(),
			platform: `${os.platform()} ${os.release()}`,
			node: process.version,
			loadAverageAtStart: os.loadavg(),
		},
		cases: [],
	};
	const resultsDir = path.join(ROOT, 'bench/results');
	fs.mkdirSync(resultsDir, { recursive: true });
	const jsonPath = quick
		? path.join(resultsDir, 'report.quick.json')
		: path.join(ROOT, 'bench/report.json');
	const mdPath = quick
		? path.join(resultsDir, 'REPORT.quick.md')
		: path.join(ROOT, 'bench/REPORT.md');
	const dated = path.join(resultsDir, `${results.date.replace(/[:.]/g, '-')}-${results.mode}.json`);
	const write = () => {
		results.totalSeconds = (Date.now() - Date.parse(results.date)) / 1000;
		// A rerun's cases stay where a full run puts them (a table keeps its rows in order).
		if (results.rerun) results.cases.sort((a, b) => orderOf(a.id) - orderOf(b.id));
		const json = `${JSON.stringify(results, null, '\t')}\n`;
		fs.writeFileSync(jsonPath, json);
		fs.writeFileSync(dated, json);
		fs.writeFileSync(mdPath, renderReport(results));
	};
	const planned = plan().filter((c) => !only || c.id.startsWith(only));
	const rerun = scale ? planned.map((c) => c.id).join(', ') : only;
	const previous = fs.existsSync(jsonPath)
		? (JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as BenchResults)
		: undefined;
	if (!quick && !rerun && previous) {
		// The `--scale` figures are not measured by a full run: kept from the report it replaces,
		// with the date each was measured (the report shows it).
		results.cases = previous.cases
			.filter((c) => c.ok && SCALE_IDS.includes(c.id))
			.map((c) => ({ ...c, measuredAt: c.measuredAt ?? previous.date }));
	}
	if (rerun && previous) {
		const again = scale ? planned.map((c) => c.id) : [];
		results.cases = previous.cases.filter((c) =>
			scale ? !again.includes(c.id) : !c.id.startsWith(rerun),
		);
		// Reruns add up: the header names every prefix rerun since the first full run.
		// A prefix an earlier rerun already covers (`b7` then `b7-concurrency`) is not named twice.
		const earlierIds = previous.rerun?.ids.split(', ') ?? [];
		const ids = !previous.rerun
			? rerun
			: earlierIds.some((id) => rerun.startsWith(id))
				? previous.rerun.ids
				: `${previous.rerun.ids}, ${rerun}`;
		results.rerun = {
			ids,
			previousDate: previous.rerun?.previousDate ?? previous.date,
			earlierProcessors: previous.rerun?.earlierProcessors ?? processorsOf(previous.machine),
		};
	}
	for (const p of planned) {
		process.stdout.write(`${p.id} ${JSON.stringify(p.params)} … `);
		const result = await runCase(p);
		const at = results.cases.findIndex((c) => c.id === result.id);
		if (at >= 0) results.cases[at] = result;
		else results.cases.push(result);
		process.stdout.write(
			result.ok ? `${result.wallSeconds.toFixed(0)} s\n` : `FAILED\n${result.error}\n`,
		);
		write();
	}
	process.stdout.write(
		`Report: ${path.relative(ROOT, mdPath)}, figures: ${path.relative(ROOT, jsonPath)}\n`,
	);
	if (results.cases.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch((error) => {
	process.stderr.write(`${error?.stack ?? error}\n`);
	process.exit(1);
});
