/**
 * The benchmark report's verdicts: a target is judged from the figures of the same run, and a
 * missed target says so with the measured reason. No timing happens here.
 */
import { renderReport, type BenchResults, type CaseResult } from '../../../bench/report';

function result(id: string, values: Record<string, unknown>, params = {}): CaseResult {
	return { id, params, ok: true, wallSeconds: 1, result: values };
}

function report(cases: CaseResult[]): string {
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
	};
	return renderReport(results);
}

const b2 = (variant: string, latencyMs: number, recordsPerSecond: number) =>
	result(`b2-${variant}-${latencyMs}ms`, {
		variant,
		records: 20_000,
		latencyMs,
		recordsPerSecond,
		campaignRequestsPerRecord: variant === 'ours' ? 1.0004 : 2,
		dataverseRequestsPerRecord: 0.005,
		dataverseContactReads: 5,
		dataverseRequests: 100,
		incremental:
			variant === 'ours'
				? {
						changes: 200,
						runs: 1,
						campaignRequests: 402,
						campaignMetadataRequests: 2,
						campaignRequestsPerChange: 2.01,
						campaignRecordRequestsPerChange: 2,
					}
				: undefined,
	});

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
			b2('ours', 20, 1200),
			b2('handBuilt', 20, 600),
			result('b2-ceiling-20ms', { requestsPerSecond: 1300, concurrency: 100, records: 20_000 }),
		]);
		expect(text).toContain('≥ 5× the hand-built workflow at 20 ms: **missed** (2.00×)');
		expect(text).toContain('5× the hand-built workflow at 20 ms is 3,000 records/s');
		expect(text).toContain('does 1,300 requests/s on this machine (2.3× short of the target)');
		expect(text).toContain('during a replay: not measured');
		expect(text).toContain('≤ 2 Campaign requests per record in incremental runs: **met** (2.00');
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
		expect(text).toContain('during a replay: **met** (1.0004 over 1,999,999 records, B3)');
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
});
