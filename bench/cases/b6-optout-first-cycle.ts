/**
 * B6 Opt-out first cycle: the Opt-In/Out Sync template (set to Bidirectional) meets N contacts
 * already paired with N profiles for the first time, so it must check every pair. The first cycle
 * runs as n8n runs the schedule: one execution after another, each bounded by "Max Records per
 * Run", until the full pass ends. Reports the runs, the time and requests per pair, how many pairs
 * the node remembers (those with an opt-out) and the peak memory of this process (the nodes'; the
 * sandboxes run in their own). Run at 100,000 and 1,000,000 pairs, the memory must stay flat.
 */
import type { IDataObject } from 'n8n-workflow';

import { OPT_IN_OUT_STATE, rememberedPairs } from '../../lib/flows/opt-in-out/state';
import { loadState } from '../../lib/state/store';
import {
	engine,
	generateContacts,
	loadTemplate,
	peakRss,
	runInChild,
	startSandboxProcess,
	sumCounters,
	timed,
} from '../support';

const SYNC = 'Opt-In/Out Sync';

export async function run(params: {
	pairs: number;
	maxRecordsPerRun?: number;
}): Promise<IDataObject> {
	const sandbox = await startSandboxProcess(Math.max(8192, Math.ceil(params.pairs / 100)));
	try {
		// The pairs: every contact, and the profile an earlier load of the contacts chain wrote for
		// it (opt-out flags not mapped, so Campaign starts with none), set up in another process.
		await generateContacts(sandbox.dataverseAdmin, params.pairs, 61);
		const seeded = await runInChild<{ read: number; inserted: number }>('seed-profiles', {
			dataverse: sandbox.dataverse,
			campaign: sandbox.campaign,
		});
		if (seeded.inserted !== params.pairs) {
			throw new Error(`set-up paired ${seeded.inserted} of ${params.pairs} contacts`);
		}
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();

		const template = loadTemplate('opt-in-out.json');
		const node = template.nodes.find((n) => n.name === SYNC)!;
		node.parameters = {
			...node.parameters,
			direction: 'bidirectional',
			options: { pageSize: 1000, maxRecordsPerRun: params.maxRecordsPerRun ?? 5000 },
		};
		const baseline = peakRss();
		const wf = engine(sandbox).workflow(template);
		const cpuBefore = process.cpuUsage();
		const { value, seconds } = await timed(async () => {
			let runs = 0;
			let writtenToCampaign = 0;
			let pairsChecked = 0;
			for (;;) {
				const result = await wf.run('Schedule Trigger');
				if (result.error) throw result.error;
				runs += 1;
				const summary = result.output(SYNC).at(-1)?._summary as IDataObject;
				writtenToCampaign += Number(summary.writtenToCampaign);
				pairsChecked += Number(summary.pairsChecked);
				const pass = summary.fullPass as { finished?: boolean } | undefined;
				if (pass?.finished) return { runs, writtenToCampaign, pairsChecked };
				if (runs > params.pairs) throw new Error('the first cycle did not end');
			}
		});
		const cpu = process.cpuUsage(cpuBefore);
		// The nodes' peak, read before this case decodes the whole memory to count it (a list of
		// every remembered pair, which the node builds only when its mappings or key change).
		const peakRssBytes = peakRss();
		const remembered = rememberedPairs(loadState(wf.staticData(SYNC), OPT_IN_OUT_STATE)!).length;
		const dataverse = await sandbox.dataverseAdmin.counters();
		const campaign = await sandbox.campaignAdmin.counters();
		return {
			pairs: params.pairs,
			runs: value.runs,
			pairsChecked: value.pairsChecked,
			writtenToCampaign: value.writtenToCampaign,
			remembered,
			staticDataBytes: JSON.stringify(wf.staticData(SYNC)).length,
			seconds,
			microsecondsPerPair: (seconds / params.pairs) * 1e6,
			cpuMicrosecondsPerPair: (cpu.user + cpu.system) / params.pairs,
			dataverseRequests: sumCounters(dataverse, /^(?!POST token)/),
			campaignRequests: sumCounters(campaign, /^(?!POST ims:token)/),
			peakRssBytes,
			rssBeforeCycleBytes: baseline,
			sandboxPeakRssBytes: sandbox.peakRss(),
		};
	} finally {
		await sandbox.close();
	}
}
