/**
 * B3 Scale: a full load of N contacts through the template's contacts chain (trigger → filter →
 * replacement → mapping → upsert), polled until quiet as n8n runs an active workflow. Reports time
 * per record and the peak memory of this process (the sandboxes run in their own process).
 */
import type { IDataObject } from 'n8n-workflow';

import { engine, generateContacts, peakRss, startSandboxProcess, timed } from '../support';
import { runTemplate } from './b2-sync';

export async function run(params: { count: number }): Promise<IDataObject> {
	const sandbox = await startSandboxProcess(16_384);
	try {
		await generateContacts(sandbox.dataverseAdmin, params.count, 31);
		const baseline = peakRss();
		const env = engine(sandbox);
		const { value, seconds } = await timed(() =>
			runTemplate(env, { pageSize: 5000, maxRecordsPerRun: 5000 }),
		);
		if (value.summary.created !== params.count) {
			throw new Error(`created ${value.summary.created} of ${params.count} profiles`);
		}
		return {
			records: params.count,
			runs: value.summary.runs,
			seconds,
			microsecondsPerRecord: (seconds / params.count) * 1e6,
			peakRssBytes: peakRss(),
			rssBeforeLoadBytes: baseline,
			sandboxPeakRssBytes: sandbox.peakRss(),
		};
	} finally {
		await sandbox.close();
	}
}
