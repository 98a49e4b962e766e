/**
 * An opt-out is a legal fact. The two shipped templates, chained as a team runs them (the
 * Dynamics 365 → Campaign template as shipped, the Opt-In/Out template with the direction an admin
 * chooses and nothing else changed), must never opt anybody in whom nobody saw opting in.
 */
import type { INode } from 'n8n-workflow';

import { OptInOutSync } from '../../nodes/OptInOutSync/OptInOutSync.node';
import { loadTemplate, type TemplateName } from '../../sandbox/n8n/templates';
import type { TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';
import { useNodeFixture } from './fixture';

type Flow = WorkflowJson & { nodes: INode[] };

const FLAGS = [
	['donotemail', 'blackListEmail'],
	['donotphone', 'blackListPhone'],
	['donotfax', 'blackListFax'],
	['donotpostalmail', 'blackListPostalMail'],
] as const;

function template(name: TemplateName): Flow {
	return loadTemplate(name) as unknown as Flow;
}

describe('Opt-outs across the shipped templates', () => {
	const fx = useNodeFixture(
		{ dataverse: { demoRecords: 0 } },
		{ optInOutSync: new OptInOutSync() },
	);

	async function quiet(wf: TestWorkflow, trigger: string) {
		for (let i = 0; i < 10; i++) {
			const run = await wf.pollAndRun(trigger);
			if (!run) return;
			expect(run.error).toBeUndefined();
		}
		throw new Error('the trigger never went quiet');
	}

	async function optedOutEverywhere(ids: string[]) {
		const contacts = (await fx.dataverse.dump('contact')).records.filter((c) =>
			ids.includes(String(c.contactid)),
		);
		const profiles = (await fx.campaign.dump('profile')).records;
		const wrong: string[] = [];
		for (const c of contacts) {
			const p = profiles.find((r) => r.externalId === c.contactid);
			for (const [column, field] of FLAGS) {
				if (c[column] !== true) wrong.push(`contact ${String(c.firstname)} ${column}`);
				if (p && p[field] !== true) wrong.push(`profile ${String(c.firstname)} ${field}`);
			}
		}
		return wrong;
	}

	it.each([['bidirectional'], ['campaignToDynamics']])(
		'keeps everyone opted out in Dynamics 365 opted out on both sides, cycle after cycle (%s)',
		async (direction) => {
			const everything = Object.fromEntries(FLAGS.map(([column]) => [column, true]));
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Ada', lastname: 'One', emailaddress1: 'ada@example.com', ...everything },
				{ firstname: 'Bea', lastname: 'Two', emailaddress1: 'bea@example.com', ...everything },
			]);
			const toCampaign = fx.workflow(template('dynamicsToCampaign'));
			const trigger = toCampaign.json.nodes.find((n) => n.type.endsWith('.dynamicsTrigger'))!.name;
			const chosen = template('optInOut');
			const sync = chosen.nodes.find((n) => n.type.endsWith('.optInOutSync'))!;
			sync.parameters.direction = direction;
			const optInOut = fx.workflow(chosen);
			const start = chosen.nodes.find((n) => n.type.endsWith('.scheduleTrigger'))!.name;

			for (let cycle = 0; cycle < 4; cycle++) {
				// Profiles are (re)written by the first workflow after every contact edit: always the
				// newer record, which is what used to opt people back in.
				await quiet(toCampaign, trigger);
				const run = await optInOut.run(start);
				expect(run.status).toBe('success');
				const wrong = await optedOutEverywhere(ids);
				if (direction === 'bidirectional') expect(wrong).toEqual([]);
				// Campaign → Dynamics moves no Dynamics opt-out to Campaign (that is the other
				// workflow's mapping); it must still never opt a contact in.
				else expect(wrong.filter((w) => w.startsWith('contact'))).toEqual([]);
				await fx.dataverse.editRecord('contact', ids[cycle % 2], { lastname: `Edit ${cycle}` });
			}
		},
	);
});
