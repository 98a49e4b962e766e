/**
 * B4 Email events: Campaign email events exported to Dynamics 365 activities by the Email Events
 * Export node (the template as shipped: batches of 10, pages of 1,000; and the node's defaults:
 * batches of 10, pages of 100), versus one write request per event (each activity upserted on its
 * own through the Dataverse client, without $batch). One variant per process, each with fresh
 * sandboxes. The events reach Campaign's event resource through the sandbox's email events
 * workflow, which stamps them in batches of 10,000 sharing one modification date.
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { mapWithConcurrency } from '../../lib/http/limiter';
import { toActivity, validateEvent, type EmailEventType } from '../../lib/sync/events';
import type { CampaignSandbox } from '../../sandbox/campaign';
import type { DataverseSandbox } from '../../sandbox/dataverse';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import { campaignClientFor, dataverseClientFor } from '../../sandbox/harness/clients';
import {
	engine,
	generateContacts,
	loadTemplate,
	startSandboxProcess,
	sumCounters,
	timed,
	type SandboxProcess,
} from '../support';

const TABLES: Record<EmailEventType, string> = {
	send: 'adobe_emailsend',
	open: 'adobe_emailopen',
	click: 'adobe_emailclick',
	bounce: 'adobe_emailbounce',
};
const EXPORT = 'Email Events Export';

/** Contacts with matching Campaign profiles, and a delivery giving each of them 3 events. */
async function prepare(sandbox: SandboxProcess, events: number): Promise<number> {
	const recipients = Math.ceil(events / 3);
	await generateContacts(sandbox.dataverseAdmin, recipients, 41);
	const contacts = (await sandbox.dataverseAdmin.dump('contact')).records;
	const pkeys: string[] = [];
	for (let i = 0; i < contacts.length; i += 10_000) {
		const inserted = await sandbox.campaignAdmin.insert(
			'profile',
			contacts.slice(i, i + 10_000).map((c) => ({
				externalId: String(c.contactid),
				email: String(c.emailaddress1 ?? ''),
			})),
		);
		pkeys.push(...inserted.map((p) => String(p.PKey)));
	}
	const summary = await sandbox.campaignAdmin.simulateDelivery({
		profiles: pkeys,
		bounceRate: 0,
		openRate: 1,
		clickRate: 1,
		seed: 4,
	});
	return Object.values(summary.events).reduce((a, b) => a + b, 0);
}

async function activityCount(sandbox: SandboxProcess): Promise<number> {
	let total = 0;
	for (const table of Object.values(TABLES)) {
		total += (await sandbox.dataverseAdmin.dump(table)).count;
	}
	return total;
}

/** The template as shipped, or with `options` in place of its Options (e.g. `{}`: the node's defaults). */
async function runOurs(sandbox: SandboxProcess, options?: INodeParameters) {
	const env = engine(sandbox);
	const template = loadTemplate('campaign-to-dynamics.json');
	const wf = env.workflow(template);
	if (options) wf.setParameters(EXPORT, { options });
	let runs = 0;
	let exported = 0;
	for (let i = 0; i < 10_000; i++) {
		const result = await wf.run('Every 5 Minutes');
		if (result.error) throw result.error;
		const errors = result.output(EXPORT, 1);
		if (errors.length) throw new Error(`events failed: ${JSON.stringify(errors[0])}`);
		const summary = result.output(EXPORT).at(-1)?._summary as IDataObject | undefined;
		const count = Number((summary?.exported as IDataObject | undefined)?.total ?? 0);
		runs++;
		if (count === 0) break;
		exported += count;
	}
	return { runs, exported };
}

/** One PATCH per event (upsert by the event id's alternate key), five at a time. */
async function runOneByOne(sandbox: SandboxProcess) {
	const campaign = campaignClientFor({
		url: sandbox.campaign,
		apiBase: `${sandbox.campaign}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign`,
	} as CampaignSandbox);
	const dataverse = dataverseClientFor({ url: sandbox.dataverse } as DataverseSandbox);
	let exported = 0;
	try {
		for await (const page of campaign.client.listPages('profileAndServicesExt/cusEmailEvent', {
			lineCount: 1000,
		})) {
			await mapWithConcurrency(page.records, 5, async (raw) => {
				const valid = validateEvent(raw);
				if (!valid.ok) throw new Error(valid.reason);
				const event = valid.event;
				const table = TABLES[event.type];
				const entitySet = `${table}s`;
				const activity = toActivity(event, String(event.profileKey), {
					entitySet,
					columns: {
						eventId: 'adobe_eventid',
						campaignName: 'adobe_campaignname',
						deliveryName: 'adobe_deliveryname',
						date: 'adobe_eventdate',
					},
				});
				await dataverse.client.upsert(table, { adobe_eventid: event.eventId }, activity.row);
				exported++;
			});
		}
	} finally {
		campaign.close();
		dataverse.close();
	}
	return { runs: 1, exported };
}

export async function run(params: {
	variant: 'ours' | 'ours-defaults' | 'oneByOne';
	events: number;
}): Promise<IDataObject> {
	const sandbox = await startSandboxProcess();
	try {
		const events = await prepare(sandbox, params.events);
		await sandbox.dataverseAdmin.resetCounters();
		await sandbox.campaignAdmin.resetCounters();
		const { value, seconds } = await timed(() =>
			params.variant === 'oneByOne'
				? runOneByOne(sandbox)
				: params.variant === 'ours'
					? runOurs(sandbox)
					: runOurs(sandbox, {}),
		);
		const activities = await activityCount(sandbox);
		if (value.exported !== events || activities !== events) {
			throw new Error(
				`${params.variant}: ${events} events, ${value.exported} exported, ${activities} activities in Dynamics`,
			);
		}
		const dataverse = await sandbox.dataverseAdmin.counters();
		const campaign = await sandbox.campaignAdmin.counters();
		const dynamicsRequests = sumCounters(dataverse, /^(?!POST token)/);
		const campaignRequests = sumCounters(campaign, /^(?!POST ims:token)/);
		return {
			variant: params.variant,
			events,
			runs: value.runs,
			seconds,
			eventsPerSecond: events / seconds,
			dynamicsRequests,
			dynamicsRequestsPerEvent: dynamicsRequests / events,
			campaignRequests,
			campaignRequestsPerEvent: campaignRequests / events,
			counters: { dataverse, campaign },
		};
	} finally {
		await sandbox.close();
	}
}
