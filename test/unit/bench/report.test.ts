/**
 * The benchmark report's verdicts: a target is judged from the figures of the same run, and a
 * missed target says so with the measured reason. No timing happens here.
 */
import {
	realN8nSection,
	renderReport,
	type BenchResults,
	type CaseResult,
} from '../../../bench/report';

function result(id: string, values: Record<string, unknown>, params = {}): CaseResult {
	return { id, params, ok: true, wallSeconds: 1, result: values };
}

function report(cases: CaseResult[], rerun?: BenchResults['rerun']): string {
	const results: BenchResults = {
		mode: 'full',
		date: '2026-11-26T00:00:00.000Z',
		machine: {
			cpus: 2,
			cpuModel: 'test',
			memoryBytes: 1,
			platform: 'linux',
			node: 'v20',
			loadAverageAtStart: [0, 0, 0],
		},
		cases,
		...(rerun ? { rerun } : {}),
	};
	return renderReport(results);
}

const b2 = (variant: string, latencyMs: number, recordsPerSecond: number, records = 20_000) => {
	const perRecord = variant === 'oursUnique' ? 1.0003 : 2.0003;
	return result(`b2-${variant}-${latencyMs}ms`, {
		variant,
		records,
		latencyMs,
		recordsPerSecond,
		seconds: records / recordsPerSecond,
		campaignRequests: records * perRecord,
		campaignRequestsPerRecord: perRecord,
		dataverseRequestsPerRecord: 0.005,
		dataverseContactReads: 5,
		dataverseRequests: 100,
		incremental: variant.startsWith('ours')
			? {
					changes: records / 100,
					runs: 1,
					campaignRequests: records / 50,
					campaignMetadataRequests: 0,
					dataverseMetadataRequests: 0,
					campaignRequestsPerChange: 2,
					campaignRecordRequestsPerChange: 2,
				}
			: undefined,
		...(variant.startsWith('ours')
			? {
					idle: { polls: 5, dataverseRequestsPerPoll: 1, campaignRequestsPerPoll: 0 },
					metadataPerRun: [
						{ dataverse: 4, campaign: 2 },
						{ dataverse: 0, campaign: 0 },
					],
				}
			: {}),
	});
};

const b3 = (count: number, peakMiB: number, microsecondsPerRecord: number) =>
	result(
		`b3-${count}`,
		{
			records: count,
			runs: count / 5000,
			seconds: (count * microsecondsPerRecord) / 1e6,
			microsecondsPerRecord,
			cpuMicrosecondsPerRecord: microsecondsPerRecord / 2,
			campaignRequestsPerRecord: 1.0004,
			peakRssBytes: peakMiB * 1024 * 1024,
			rssBeforeLoadBytes: 200 * 1024 * 1024,
			sandboxPeakRssBytes: 1,
		},
		{ count },
	);

describe('benchmark report', () => {
	it('judges B2 against the same run’s peer and explains a miss with the measured ceiling', () => {
		const text = report([
			b2('ours', 20, 600),
			b2('oursUnique', 20, 1200),
			b2('handBuilt', 20, 600),
			result('b2-ceiling-20ms', { requestsPerSecond: 1300, concurrency: 100, records: 20_000 }),
			result('b2-ceilingCreate-20ms', {
				recordsPerSecond: 1250,
				requestsPerSecond: 1250,
				concurrency: 100,
				records: 20_000,
			}),
			result('b2-ceilingLookupCreate-20ms', {
				recordsPerSecond: 700,
				requestsPerSecond: 1400,
				campaignRequestsPerRecord: 2,
				concurrency: 100,
				records: 20_000,
			}),
		]);
		expect(text).toContain(
			'≥ 5× the hand-built workflow at 20 ms: the template **missed** (1.00×), with the key declared unique **missed** (2.00×)',
		);
		expect(text).toContain('5× the hand-built workflow at 20 ms is 3,000 records/s');
		expect(text).toContain('does 1,300 requests/s on this machine (2.3× short of the target)');
		expect(text).toContain('During a replay (one lookup per record), ≤ 1.01: not measured');
		expect(text).toContain('≤ 2 Campaign requests per record in incremental runs: **met** (2.00');
		// Each load against the helper alone sending the same requests.
		expect(text).toContain(
			'with the key declared unique (one create per record) **met** (1,200 records/s, 0.96× the 1,250 creates/s of the create ceiling)',
		);
		expect(text).toContain(
			'the template as shipped (a lookup and a create per record) **missed** (600 records/s, 0.86× the 700 records/s of the lookup-and-create ceiling)',
		);
		expect(text).toContain(
			'Against lookups alone (1,300 requests/s, the figure the issue started from) the key-unique load is 0.92×',
		);
		expect(text).toMatch(
			/\| Ceiling: a lookup and a create per record .* \| 20 ms \| 700 \| 1\.17× \| 2\.0000 \| 1,400 \|/,
		);
	});

	it('judges the requests per record of each initial-load variant by what it can reach', () => {
		const twoEach = report([b2('ours', 20, 600), b2('oursUnique', 20, 1200)]);
		expect(twoEach).toContain('≤ 1.01: **met** (1.0003); the template as shipped');
		expect(twoEach).toContain('≤ 2.01: **met** (2.0003)');
		const tooMany = b2('oursUnique', 20, 1200);
		(tooMany.result as Record<string, unknown>).campaignRequestsPerRecord = 2.0003;
		expect(report([b2('ours', 20, 600), tooMany])).toContain('≤ 1.01: **missed** (2.0003)');
	});

	it('judges a quiet poll and the metadata of busy runs', () => {
		const text = report([b2('ours', 20, 600)]);
		expect(text).toContain(
			'A quiet poll costs 1 Dataverse request and nothing in Campaign: **met** (1.00 and 0.00)',
		);
		expect(text).toContain(
			'A busy run reads ≤ 1 metadata request per table: **met** for every run after the process’s first (at most 0)',
		);
		const costly = b2('ours', 20, 600);
		(costly.result as Record<string, unknown>).idle = {
			polls: 5,
			dataverseRequestsPerPoll: 2,
			campaignRequestsPerPoll: 0,
		};
		expect(report([costly])).toContain('nothing in Campaign: **missed** (2.00 and 0.00)');
	});

	it('does not judge speeds or memory at the quick run’s sizes, and says so', () => {
		const text = report([
			b2('oursUnique', 20, 400, 2000),
			b2('handBuilt', 20, 200, 2000),
			result('b2-ceiling-20ms', { requestsPerSecond: 300, concurrency: 100, records: 2000 }),
			b3(2000, 300, 700),
			b3(10_000, 310, 690),
		]);
		expect(text).toContain('with the key declared unique not judged at 2,000 records (2.00×)');
		expect(text).toContain('(one create per record) not judged at 2,000 records');
		expect(text).toContain('peak memory 1.03× (target ≤ 1.2×: not judged)');
		expect(text).not.toMatch(/10,000 vs 2,000[^\n]*\*\*met\*\*/);
		expect(text).toContain('in incremental runs: not judged at 20 changes');
	});

	it('says when a rerun ran on other processors than the figures it was merged into, and whose total the header gives', () => {
		const rerun = { ids: 'b7', previousDate: '2026-11-25T00:00:00.000Z' };
		expect(report([], { ...rerun, earlierProcessors: '2 × other' })).toContain(
			'That is the machine of the last rerun; the figures before it were measured on 2 × other.',
		);
		expect(report([], { ...rerun, earlierProcessors: '2 × test' })).not.toContain(
			'machine of the last rerun',
		);
		// The total is the last rerun's time, not the whole report's.
		expect(report([], rerun)).toContain('Total of the last rerun: ');
		expect(report([])).toMatch(/\. Total: /);
	});

	it('judges the adaptive concurrency against the limit’s bound and the share answered 429', () => {
		const b7 = (variant: string, ratioToBound: number, throttledShare: number) =>
			result(
				`b7-concurrency-${variant}`,
				{
					variant,
					count: 20_000,
					latencyMs: 100,
					maxConcurrent: 20,
					seconds: 110,
					servedPerSecond: 200 * ratioToBound,
					boundPerSecond: 200,
					nominalBoundPerSecond: 200,
					ratioToBound,
					throttled: Math.round(throttledShare * 20_000),
					throttledShare,
					failed: variant === 'fixed' ? 40 : 0,
					concurrencyPerRun: [19, 19],
				},
				{ variant },
			);
		expect(report([b7('adaptive', 0.95, 0.004), b7('fixed', 0.9, 0.17)])).toContain(
			'20 at a time, 100 ms: ≥ 0.9× the bound with ≤ 1% answered 429: **met** (0.95×, 0.40%); the fixed setting: 0.90×, 17.00% answered 429, 40 records failed.',
		);
		expect(report([b7('adaptive', 0.95, 0.02)])).toContain(
			'answered 429: **missed** (0.95×, 2.00%)',
		);
		// One above the limit: its figures in the same line, Concurrency the limit plus one.
		expect(report([b7('adaptive', 0.83, 0.001), b7('aboveLimit', 0.79, 0.007)])).toContain(
			'(0.83×, 0.10%); Campaign Upsert fixed at 21, one above the limit: 0.79×, 0.70% answered 429 (each waited out for its Retry-After), 0 records failed.',
		);
	});

	it('judges B3 memory and time per record against the smallest replay, whatever order they ran in', () => {
		const text = report([b3(1_999_999, 900, 720), b3(500_000, 700, 800), b3(100_000, 600, 700)]);
		expect(text).toContain(
			'500,000 vs 100,000: peak memory 1.17× (target ≤ 1.2×: **met**); CPU time per record of the nodes’ process 1.14× (linear time, ≤ 1.2×: **met**); wall time per record 1.14×.',
		);
		expect(text).toContain(
			'1,999,999 vs 100,000: peak memory 1.50× (target ≤ 1.2×: **missed**); CPU time per record of the nodes’ process 1.03× (linear time, ≤ 1.2×: **met**)',
		);
		expect(text).toContain('it is included above');
		expect(text).toContain('≤ 1.01: **met** (1.0004 over 1,999,999 records, B3)');
	});

	it('shows where the time of a load goes, before (kept in bench/profile-before.json) and after', () => {
		const after = result('b2-profile-20ms', {
			records: 20_000,
			recordsPerSecond: 650,
			metadataPerRun: [
				{ dataverse: 4, campaign: 2 },
				{ dataverse: 0, campaign: 0 },
			],
			detail: { time: { pollMs: 2000, transformMs: 600, upsertMs: 27_000 } },
			profile: {
				seconds: 30,
				top: [{ name: 'connect', percent: 10 }],
				areas: [{ name: 'our nodes and clients (lib/, nodes/)', percent: 5 }],
			},
		});
		const text = report([after]);
		expect(text).toContain('### Where the time goes (20 ms, key declared unique)');
		expect(text).toMatch(/\| Records\/s \(under the profiler\) \| [\d,]+ \| 650 \|/);
		expect(text).toMatch(/\| Metadata requests of each run \| 29, 29, 29, 29 \| 6, 0 \|/);
		expect(text).toContain('| Campaign Upsert |');
		expect(text).toContain('5.0% our nodes and clients (lib/, nodes/)');
		expect(text).not.toContain('Campaign Upsert’s own code, measured apart');
	});

	it('sets Campaign Upsert’s own CPU per record beside the whole load’s and the ceiling’s', () => {
		const after = result('b2-profile-20ms', {
			records: 20_000,
			recordsPerSecond: 650,
			profile: { seconds: 30, top: [], areas: [] },
			ownCode: { records: 30_000, rounds: 3, oursMicros: 28.5, bareMicros: 4.5 },
		});
		const load = b2('oursUnique', 20, 1000);
		(load.result as Record<string, unknown>).cpuMicrosPerRecord = 960;
		const ceiling = result('b2-ceilingCreate-20ms', {
			variant: 'ceilingCreate',
			records: 20_000,
			latencyMs: 20,
			recordsPerSecond: 1100,
			cpuMicrosPerRecord: 900,
		});
		const text = report([after, load, ceiling]);
		expect(text).toContain('28.5 µs of CPU per record for the whole path');
		expect(text).toContain('against 4.5 µs for a loop that only hands the helper the record');
		expect(text).toContain('The key-unique load above spent 960 µs of CPU per record in all');
		expect(text).toContain('its create ceiling 900 µs per create');
		// 960 - 900 = 60 µs more; 28.5 - 4.5 = 24 µs of it Campaign Upsert's, 2.5% of 960.
		expect(text).toContain(
			'the load 60 µs more, of which Campaign Upsert’s code beyond what the ceiling’s node does 24.0 µs (2.5% of the load’s CPU)',
		);
		// A load that spent no more than its ceiling is not said to have spent a negative amount more.
		(load.result as Record<string, unknown>).cpuMicrosPerRecord = 880;
		expect(report([after, load, ceiling])).toContain(
			'the load no more than its ceiling in this run (Campaign Upsert’s code beyond what the ceiling’s node does 24.0 µs (2.7% of the load’s CPU))',
		);
	});

	it('judges B6 memory at 1,000,000 pairs against 100,000, and dates figures kept from a --scale run', () => {
		const b6 = (pairs: number, peakMiB: number, measuredAt?: string): CaseResult => ({
			...result(
				`b6-${pairs}`,
				{ pairs, runs: pairs / 5000, peakRssBytes: peakMiB * 1024 * 1024 },
				{ pairs },
			),
			...(measuredAt ? { measuredAt } : {}),
		});
		const flat = report([b6(100_000, 550), b6(1_000_000, 600)]);
		expect(flat).toContain('## B6 Opt-out first cycle');
		expect(flat).toContain('1,000,000 pairs vs 100,000: 1.09× (target ≤ 1.2×: **met**)');
		expect(flat).not.toContain('Kept from an earlier');
		const grown = report([b6(100_000, 550), b6(1_000_000, 980, '2026-11-20T00:00:00.000Z')]);
		expect(grown).toContain('1.78× (target ≤ 1.2×: **missed**)');
		expect(grown).toContain('Kept from an earlier run, not measured by this one: b6-1000000');
		expect(report([b6(100_000, 550)])).toContain(
			'not measured (the 1,000,000-pair case runs with `npm run bench -- --scale`)',
		);
	});

	it('reports a failed case with its error instead of figures', () => {
		const failed: CaseResult = {
			id: 'b3-500000',
			params: { count: 500_000 },
			ok: false,
			wallSeconds: 1,
			error: 'Error: replay: 3 created\nsecond line: the cause',
		};
		const text = report([b3(100_000, 600, 700), failed]);
		expect(text).toContain('| 500,000 | failed: second line: the cause |');
		expect(text).toContain('- b3-500000 failed: second line: the cause');
	});

	it('judges the load in a real n8n against the helper sending the same requests over the same chain', () => {
		const load = (seconds: number, requests: number, last: string, concurrency?: number) => ({
			records: 5000,
			seconds,
			recordsPerSecond: 5000 / seconds,
			campaignRequests: requests,
			campaignRequestsPerSecond: requests / seconds,
			nodeSeconds: { 'Contacts: Dynamics 365 Trigger': 0.001, [last]: seconds - 0.2 },
			...(concurrency ? { concurrency, throttled: 0 } : {}),
		});
		const b8 = {
			load: '5000 contacts',
			n8nVersion: '2.40.7',
			cpus: 2,
			ceilingConcurrency: 100,
			measuredAt: '2026-12-02T00:00:00.000Z',
			ours: load(6, 10_001, 'Contacts: Campaign Upsert', 100),
			oursUnique: load(5, 5001, 'Contacts: Campaign Upsert', 100),
			ceilingCreate: load(4.8, 5000, 'One Request per Item'),
			ceilingLookupCreate: load(5, 10_000, 'One Request per Item'),
			uniqueRatioToCeiling: 4.8 / 5,
			templateRatioToCeiling: 5 / 6,
		};
		const text = realN8nSection(b8).join('\n');
		expect(text).toContain(
			'with the key declared unique **met** (0.96×); the template as shipped **missed** (0.83×)',
		);
		expect(text).toContain(
			'| Template, key declared unique | 5.00 | 1,000 | 1,000 | 4.80 s | 100 |',
		);
		expect(text).toContain(
			'| Chain → one create per record through the helper | 4.80 | 1,042 | 1,042 | 4.60 s | 100 (fixed) |',
		);
		expect(text).not.toContain('Where n8n’s main process');
		const profile = {
			measuredAt: 'x',
			oursUnique: {
				profile: {
					areas: [{ name: 'waiting (idle)', percent: 30 }],
					top: [{ name: 'a|b (x.js:1)', percent: 5 }],
				},
			},
		};
		const profiled = realN8nSection(b8, profile).join('\n');
		expect(profiled).toContain('| waiting (idle) | 30.0% |');
		expect(profiled).toContain('| a\\|b (x.js:1) | 5.0% |');
		expect(realN8nSection(undefined)).toContain('Not measured: run `npm run bench:real`.');
	});
});
