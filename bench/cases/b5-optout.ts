/**
 * B5 Opt-out cycle: the Opt-In/Out Sync template over a table of contacts paired with Campaign
 * profiles; after a first cycle, a share of the pairs change (half in Dynamics 365, half in
 * Campaign) and the next cycle's requests are counted. Run at two table sizes with the same number
 * of changes, the requests must follow the changes, not the table.
 */
import type { IDataObject } from 'n8n-workflow';

import {
	engine,
	generateContacts,
	loadTemplate,
	startSandboxProcess,
	sumCounters,
	timed,
	type SandboxProcess,
} from '../support';

const SYNC = 'Opt-In/Out Sync';
// The Campaign flags as the profile names them on the wire (the template maps the same pairs).
const FLAGS: Array<[string, string]> = [
	['donotemail', 'blackListEmail'],
	['donotphone', 'blackListPhone'],
	['donotfax', 'blackListFax'],
	['donotpostalmail', 'blackListPostalMail'],
];

async function pairUp(sandbox: SandboxProcess, count: number) {
	await generateContacts(sandbox.dataverseAdmin, count, 51);
	const contacts = (await sandbox.dataverseAdmin.dump('contact')).records;
	const pairs: Array<{ id: string; pkey: string; donotemail: boolean; blackListPhone: boolean }> =
		[];
	for (let i = 0; i < contacts.length; i += 10_000) {
		const slice = contacts.slice(i, i + 10_000);
		const inserted = await sandbox.campaignAdmin.insert(
			'profile',
			slice.map((c) => ({
				externalId: String(c.contactid),
				email: String(c.emailaddress1 ?? ''),
				...Object.fromEntries(FLAGS.map(([d, p]) => [p, c[d] === true])),
			})),
		);
		inserted.forEach((p, j) =>
			pairs.push({
				id: String(slice[j].contactid),
				pkey: String(p.PKey),
				donotemail: slice[j].donotemail === true,
				blackListPhone: slice[j].donotphone === true,
			}),
		);
	}
	return pairs;
}

async function cycle(wf: ReturnType<ReturnType<typeof engine>['workflow']>) {
	const result = await wf.run('Schedule Trigger');
	if (result.error) throw result.error;
	const items = result.output(SYNC);
	return items.find((i) => '_summary' in i)?._summary as IDataObject;
}

async function requests(sandbox: SandboxProcess) {
	const dataverse = await sandbox.dataverseAdmin.counters();
	const campaign = await sandbox.campaignAdmin.counters();
	await sandbox.dataverseAdmin.resetCounters();
	await sandbox.campaignAdmin.resetCounters();
	return {
		dynamics: sumCounters(dataverse, /^(?!POST token)/),
		campaign: sumCounters(campaign, /^(?!POST ims:token)/),
		counters: { dataverse, campaign },
	};
}

export async function run(params: { profiles: number; changes: number }): Promise<IDataObject> {
	const sandbox = await startSandboxProcess();
	try {
		const pairs = await pairUp(sandbox, params.profiles);
		const template = loadTemplate('opt-in-out.json');
		// The template ships Disabled; the benchmark measures the Bidirectional cycle.
		template.nodes.find((n) => n.name === SYNC)!.parameters.direction = 'bidirectional';
		const wf = engine(sandbox).workflow(template);
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();
		// The first cycle checks every pair, over as many runs as "Max Records per Run" allows, and
		// lasts until the node is settled: its full pass has ended and a run checks at most the one
		// pair its cursors read again.
		const first = await timed(async () => {
			let checked = 0;
			for (let runs = 1; ; runs++) {
				const summary = await cycle(wf);
				checked += Number(summary?.pairsChecked ?? 0);
				const pass = summary?.fullPass as { finished?: boolean } | undefined;
				const settled = Number(summary?.pairsChecked ?? 0) <= 1;
				if ((!pass || pass.finished) && settled) {
					return { ...summary, runs, pairsCheckedInAll: checked };
				}
				if (runs > params.profiles) throw new Error('the first cycle did not end');
			}
		});
		const firstRequests = await requests(sandbox);

		// Spread the changes over the table: every k-th pair, alternating sides.
		const step = Math.floor(pairs.length / params.changes);
		for (let n = 0; n < params.changes; n++) {
			const p = pairs[n * step];
			if (n % 2 === 0) {
				await sandbox.dataverseAdmin.editRecord('contact', p.id, { donotemail: !p.donotemail });
			} else {
				await sandbox.campaignAdmin.edit('profile', p.pkey, { blackListPhone: !p.blackListPhone });
			}
		}
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();
		const second = await timed(() => cycle(wf));
		const changedRequests = await requests(sandbox);
		const written =
			Number(second.value?.writtenToDynamics ?? 0) + Number(second.value?.writtenToCampaign ?? 0);
		if (written !== params.changes) {
			throw new Error(
				`the cycle after ${params.changes} changes wrote ${written}: ${JSON.stringify(second.value)}`,
			);
		}
		return {
			profiles: params.profiles,
			changes: params.changes,
			firstCycle: {
				seconds: first.seconds,
				dynamicsRequests: firstRequests.dynamics,
				campaignRequests: firstRequests.campaign,
				summary: first.value,
			},
			changeCycle: {
				seconds: second.seconds,
				dynamicsRequests: changedRequests.dynamics,
				campaignRequests: changedRequests.campaign,
				requests: changedRequests.dynamics + changedRequests.campaign,
				requestsPerChange: (changedRequests.dynamics + changedRequests.campaign) / params.changes,
				summary: second.value,
				counters: changedRequests.counters,
			},
		};
	} finally {
		await sandbox.close();
	}
}
