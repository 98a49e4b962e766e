/**
 * B3 Scale: a replay ("Replay Data") of N contacts through the template's contacts chain (trigger →
 * filter → replacement → mapping → upsert), polled until quiet as n8n runs an active workflow.
 * Campaign already holds the profiles an earlier load wrote (set up in another process, untimed),
 * so every record is read from Dynamics, transformed, looked up in Campaign and found up to date.
 * Reports wall and CPU time per record, Campaign requests per record and the peak memory of this
 * process (the sandboxes run in their own process).
 */
import type { IDataObject } from 'n8n-workflow';

import {
	engine,
	generateContacts,
	peakRss,
	runInChild,
	startSandboxProcess,
	sumCounters,
	timed,
} from '../support';
import { runTemplate } from './b2-sync';

export async function run(params: { count: number; concurrency?: number }): Promise<IDataObject> {
	// The sandboxes hold N contacts and up to N profiles with their indexes.
	const sandbox = await startSandboxProcess(Math.max(8192, Math.ceil(params.count / 100)));
	try {
		await generateContacts(sandbox.dataverseAdmin, params.count, 31);
		const seeded = await runInChild<{ read: number; inserted: number }>('seed-profiles', {
			dataverse: sandbox.dataverse,
			campaign: sandbox.campaign,
		});
		if (seeded.read !== params.count) {
			throw new Error(`set-up read ${seeded.read} of ${params.count} contacts`);
		}
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();
		const baseline = peakRss();
		const env = engine(sandbox);
		const cpuBefore = process.cpuUsage();
		const { value, seconds } = await timed(() =>
			runTemplate(env, {
				pageSize: 5000,
				maxRecordsPerRun: 5000,
				replay: 'B3 replay',
				concurrency: params.concurrency,
			}),
		);
		const cpu = process.cpuUsage(cpuBefore);
		const { summary } = value;
		if (summary.unchanged !== seeded.inserted || summary.created || summary.updated) {
			throw new Error(
				`replay: ${summary.unchanged} unchanged, ${summary.created} created, ${summary.updated} updated; expected ${seeded.inserted} unchanged`,
			);
		}
		const campaign = sumCounters(await sandbox.campaignAdmin.counters(), /^(?!POST ims:token)/);
		const dataverse = await sandbox.dataverseAdmin.counters();
		return {
			records: params.count,
			passedFilter: seeded.inserted,
			runs: summary.runs,
			seconds,
			microsecondsPerRecord: (seconds / params.count) * 1e6,
			// CPU time of this process (n8n's engine and the nodes), apart from the sandboxes' share
			// of the two cores: the time per record of the process running the nodes.
			cpuMicrosecondsPerRecord: (cpu.user + cpu.system) / params.count,
			campaignRequests: campaign,
			campaignRequestsPerRecord: campaign / params.count,
			dataverseContactReads: sumCounters(dataverse, /^GET contacts/),
			peakRssBytes: peakRss(),
			rssBeforeLoadBytes: baseline,
			sandboxPeakRssBytes: sandbox.peakRss(),
		};
	} finally {
		await sandbox.close();
	}
}
