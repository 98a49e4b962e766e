/**
 * Set-up for B3's replay: gives Campaign the profiles an earlier load of the template's contacts
 * chain would have written, without timing it. The trigger reads the contacts (an initial load, page
 * by page), the pure lib/sync chain maps them, and the Campaign sandbox's admin API inserts them.
 * Runs in a process of its own so that B3's peak memory is the replay's alone.
 */
import type { IDataObject } from 'n8n-workflow';

import type { SyncRecord } from '../../lib/sync/envelope';
import { RUN_KEY } from '../../lib/flows/run-report';
import { CampaignSandboxAdmin } from '../../sandbox/campaign/admin';
import { templateLibChain, templateNode } from '../lib-chain';
import { engine, type SandboxUrls } from '../support';

export async function run(urls: SandboxUrls): Promise<IDataObject> {
	const chain = await templateLibChain(urls);
	const trigger = templateNode('Contacts: Dynamics 365 Trigger');
	const wf = engine(urls).workflow({ name: 'seed', nodes: [trigger], connections: {} });
	// The template's trigger as shipped (it reads the mapped columns), 5,000 rows a page.
	wf.setParameters(trigger.name, { options: { pageSize: 5000, maxRecordsPerRun: 5000 } });
	const admin = new CampaignSandboxAdmin(urls.campaign);
	let read = 0;
	let inserted = 0;
	for (;;) {
		const polled = await wf.poll(trigger.name);
		if (!polled) break;
		const records = polled[0]
			.filter((i) => !(RUN_KEY in i.json))
			.map((i) => i.json as unknown as SyncRecord);
		read += records.length;
		const profiles = chain(records).map(({ _sync, ...fields }) => fields);
		if (profiles.length) inserted += (await admin.insert('profile', profiles)).length;
	}
	return { read, inserted };
}
