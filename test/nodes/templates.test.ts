/**
 * The three templates as a team imports them: what the files hold (notes on the canvas, no
 * sandbox-only tables or credential ids, a safe opt-in/out direction, which executions are saved),
 * and, run in n8n's engine against the sandboxes, that a record that fails turns the execution
 * red after the other records were written, with the failed ones named.
 */
import type { INode } from 'n8n-workflow';

import {
	loadDemo,
	loadTemplate,
	TEMPLATE_FILES,
	type TemplateName,
} from '../../sandbox/n8n/templates';
import type { WorkflowJson } from '../../sandbox/harness/engine';
import { useNodeFixture } from './fixture';

const TEMPLATES = Object.keys(TEMPLATE_FILES) as TemplateName[];
const STICKY_NOTE = 'n8n-nodes-base.stickyNote';
const OUR_NODES = 'n8n-nodes-dynamics-campaign.';

function template(name: TemplateName): WorkflowJson & { nodes: INode[] } {
	return loadTemplate(name) as unknown as WorkflowJson & { nodes: INode[] };
}

/** A resource locator's value chosen from its list. */
function fromList(value: string, cachedResultName: string) {
	return { __rl: true, mode: 'list', value, cachedResultName };
}

function notes(name: TemplateName): string[] {
	return template(name)
		.nodes.filter((node) => node.type === STICKY_NOTE)
		.map((node) => String(node.parameters.content));
}

describe('Templates as files', () => {
	it.each(TEMPLATES)('%s explains itself on the canvas with sticky notes', (name) => {
		const text = notes(name).join('\n');
		expect(notes(name).length).toBeGreaterThanOrEqual(2);
		expect(text).toMatch(/### Before you publish/);
		expect(text).toMatch(/credentials/);
		expect(text).toMatch(/### When an? \w+ fails/);
		expect(text).toMatch(/Save successful production executions/);
	});

	it.each(TEMPLATES)(
		'%s saves failed executions and not successful ones, and says how to change it',
		(name) => {
			expect(template(name).settings).toMatchObject({
				saveDataErrorExecution: 'all',
				saveDataSuccessExecution: 'none',
			});
		},
	);

	it.each(TEMPLATES)('%s names credentials without the ids of any n8n instance', (name) => {
		const references = template(name).nodes.flatMap((node) =>
			Object.values(node.credentials ?? {}),
		);
		expect(references.length).toBeGreaterThan(0);
		for (const reference of references) expect(reference.id).toBe('');
	});

	it.each(TEMPLATES)('%s leaves no error output unconnected', (name) => {
		const { nodes, connections } = template(name);
		for (const node of nodes.filter((n) => n.onError === 'continueErrorOutput')) {
			expect(connections[node.name]?.main?.[1]?.length ?? 0).toBeGreaterThan(0);
		}
		// The nodes that write keep n8n's default: they fail the execution after the good records.
		const writers = nodes.filter((n) =>
			/\.(campaignUpsert|emailEventsExport|optInOutSync)$/.test(n.type),
		);
		expect(writers).toHaveLength(1);
		for (const writer of writers) expect(writer.onError).toBeUndefined();
	});

	it('dynamics-to-campaign holds what a real tenant has: contact → profile only', () => {
		const { nodes } = template('dynamicsToCampaign');
		const ours = nodes.filter((node) => node.type.startsWith(OUR_NODES));
		expect(ours.map((node) => node.type.slice(OUR_NODES.length))).toEqual([
			'dynamicsTrigger',
			'recordFilter',
			'fieldReplacement',
			'applyFieldMapping',
			'campaignUpsert',
		]);
		// Tables and resources as n8n's resource locator stores a choice from its list.
		for (const node of ours.filter((n) => 'table' in n.parameters)) {
			expect(node.parameters.table).toEqual(fromList('contact', 'Contact'));
		}
		const mapping = ours.find((node) => node.type.endsWith('.applyFieldMapping'))!;
		expect(mapping.parameters).toMatchObject({
			campaignResource: fromList('profile', 'Profile'),
			campaignKey: 'externalId',
		});
		// The Dynamics key is read-only: detected from the table, never stored in the template.
		expect(mapping.parameters).not.toHaveProperty('dynamicsKey');
		expect(JSON.stringify(nodes)).not.toMatch(/new_|cusLoyalty/);
	});

	it('opt-in-out ships Disabled and says on the canvas what each direction does', () => {
		const sync = template('optInOut').nodes.find((node) => node.type.endsWith('.optInOutSync'))!;
		expect(sync.parameters.direction).toBe('disabled');
		const text = notes('optInOut').join('\n');
		for (const direction of [
			'Disabled',
			'Unidirectional (Microsoft Dynamics 365 to Campaign)',
			'Unidirectional (Campaign to Microsoft Dynamics 365)',
			'Bidirectional',
		]) {
			expect(text).toContain(`**${direction}**`);
		}
	});
});

describe('The demo that npm start publishes', () => {
	it('adds the sandbox-only loyalty-card chain to the template, leaving the template as shipped', () => {
		const shipped = template('dynamicsToCampaign');
		const demo = loadDemo('dynamicsToCampaign');
		expect(demo.nodes.slice(0, shipped.nodes.length)).toEqual(shipped.nodes);
		const added = demo.nodes
			.slice(shipped.nodes.length)
			.filter((n) => n.type.startsWith(OUR_NODES));
		expect(added.map((n) => (n.parameters.table as { value?: string })?.value ?? n.type)).toEqual([
			'new_loyaltycard',
			'new_loyaltycard',
			'new_loyaltycard',
			'new_loyaltycard',
			`${OUR_NODES}campaignUpsert`,
		]);
		for (const node of added.slice(0, -1)) expect(demo.connections).toHaveProperty([node.name]);
	});

	it('moves opt-in/out both ways and saves every execution, to report what each one wrote', () => {
		for (const name of TEMPLATES) {
			expect(loadDemo(name).settings).toMatchObject({ saveDataSuccessExecution: 'all' });
		}
		const sync = loadDemo('optInOut').nodes.find((n) => n.name === 'Opt-In/Out Sync')!;
		expect(sync.parameters.direction).toBe('bidirectional');
	});
});

describe('Templates run in the engine', () => {
	const fx = useNodeFixture();

	async function totalRequests(): Promise<number> {
		const counts = [await fx.dataverse.counters(), await fx.campaign.counters()];
		return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
	}

	it('campaign-to-dynamics writes the other events, then fails naming the event that failed', async () => {
		const contactIds = await fx.dataverse.generate('contact', 3, 31);
		const profiles = await fx.campaign.insert('profile', [
			...contactIds.map((id, i) => ({ externalId: id, email: `known${i}@example.com` })),
			// A profile whose externalId matches no contact: its events cannot be exported.
			{ externalId: '00000000-0000-4000-8000-0000000000aa', email: 'stranger@example.com' },
		]);
		await fx.campaign.simulateDelivery({ profiles: profiles.map((p) => p.PKey), seed: 32 });
		const events = (await fx.campaign.dump('cusEmailEvent')).records;
		const stranger = events.filter((e) => e.profileExternalId === profiles[3].externalId);
		expect(stranger.length).toBeGreaterThan(0);

		const wf = fx.workflow(template('campaignToDynamics'));
		const result = await wf.run('Every 5 Minutes');
		expect(result.status).toBe('error');
		const error = result.nodes['Email Events Export'].error as Error & { description?: string };
		expect(error.message).toBe(
			`${stranger.length} of ${events.length} email events could not be exported`,
		);
		for (const event of stranger) expect(error.description).toContain(String(event.eventId));
		let written = 0;
		for (const table of [
			'adobe_emailsend',
			'adobe_emailopen',
			'adobe_emailclick',
			'adobe_emailbounce',
		]) {
			written += (await fx.dataverse.dump(table)).records.length;
		}
		expect(written).toBe(events.length - stranger.length);
	});

	it('opt-in-out as shipped reads and writes nothing', async () => {
		const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Opt', donotemail: false }]);
		const [profile] = await fx.campaign.insert('profile', [
			{ externalId: id, email: 'opt@example.com', blackListPhone: true },
		]);
		await fx.dataverse.editRecord('contact', id, { donotemail: true });
		await fx.dataverse.resetCounters();
		await fx.campaign.resetCounters();

		const wf = fx.workflow(template('optInOut'));
		const result = await wf.run('Schedule Trigger');
		expect(result.status).toBe('success');
		expect(result.output('Opt-In/Out Sync').at(-1)?._summary).toMatchObject({
			direction: 'disabled',
			writtenToCampaign: 0,
			writtenToDynamics: 0,
		});
		expect(await totalRequests()).toBe(0);
		expect((await fx.campaign.read('profile', String(profile.PKey))).blackListEmail).toBeFalsy();
		expect(
			(await fx.dataverse.dump('contact')).records.find((c) => c.contactid === id)?.donotphone,
		).toBeFalsy();
	});

	it('opt-in-out, once a direction is chosen, writes the other contacts, then fails naming the one that failed', async () => {
		const [good, bad] = await fx.dataverse.seed('contact', [
			{ firstname: 'Good', donotphone: false },
			{ firstname: 'Bad', donotemail: false },
		]);
		const [goodProfile] = await fx.campaign.insert('profile', [
			{ externalId: good, email: 'good@example.com' },
			{ externalId: bad, email: 'bad@example.com' },
		]);
		// As an admin chooses it in the editor (the mappings show once a direction is chosen).
		const chosen = template('optInOut');
		chosen.nodes.find((n) => n.name === 'Opt-In/Out Sync')!.parameters.direction = 'bidirectional';
		const wf = fx.workflow(chosen);
		expect((await wf.run('Schedule Trigger')).status).toBe('success');
		// A second profile for the same contact: the pair is ambiguous, so that contact fails.
		await fx.campaign.insert('profile', [{ externalId: bad, email: 'copy@example.com' }], {
			bypassUnique: true,
		} as never);
		await fx.campaign.edit('profile', String(goodProfile.PKey), { blackListPhone: true });
		await fx.dataverse.editRecord('contact', bad, { donotemail: true });

		const result = await wf.run('Schedule Trigger');
		expect(result.status).toBe('error');
		const error = result.nodes['Opt-In/Out Sync'].error as Error & { description?: string };
		expect(error.message).toMatch(
			/^1 of \d+ contact\(s\) could not be synchronized; the others were written\. First: Several Campaign profiles/,
		);
		expect(error.description).toContain(`- contact ${bad}: Several Campaign profiles`);
		const contact = (await fx.dataverse.dump('contact')).records.find((c) => c.contactid === good);
		expect(contact?.donotphone).toBe(true);
	});
});
