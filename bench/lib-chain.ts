/**
 * The template's contacts chain (its filter, the gender replacement, its mapping) on the pure lib/sync path, without n8n: B1 times it against the nodes, B3 uses it to
 * give Campaign the profiles a replay will find.
 */
import type { IDataObject, INode } from 'n8n-workflow';

import type { SyncRecord } from '../lib/sync/envelope';
import { compileFilter } from '../lib/sync/filter';
import { compileMapping } from '../lib/sync/mapping';
import { compileReplacements } from '../lib/sync/replacement';
import { syncCampaignFields, syncColumns } from '../lib/flows/metadata';
import type { CampaignSandbox } from '../sandbox/campaign';
import type { DataverseSandbox } from '../sandbox/dataverse';
import { SANDBOX_DEFAULTS } from '../sandbox/defaults';
import { campaignClientFor, dataverseClientFor } from '../sandbox/harness/clients';
import { loadTemplate, type SandboxUrls } from './support';

/** The B1 filter: contacts whose status is Active. */
export const ACTIVE_ONLY = { field: 'statecode', comparison: 'equals', value: '0' } as const;

export function templateNode(name: string): INode {
	const node = loadTemplate('dynamics-to-campaign.json').nodes.find((n) => n.name === name);
	if (!node) throw new Error(`template has no node ${name}`);
	return node;
}

export type LibChain = (input: SyncRecord[]) => SyncRecord[];

/**
 * Compiles the chain once against the sandboxes' metadata. The template's Record Filter has no
 * rule (every contact passes); B1 adds "active only" to give the filter work to do.
 */
export async function templateLibChain(
	urls: SandboxUrls,
	rules: Array<{ field: string; comparison: string; value: string }> = [],
): Promise<LibChain> {
	const dv = dataverseClientFor({ url: urls.dataverse } as DataverseSandbox);
	const cp = campaignClientFor({
		url: urls.campaign,
		apiBase: `${urls.campaign}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign`,
	} as CampaignSandbox);
	let columns: Awaited<ReturnType<typeof syncColumns>>;
	let campaignFields: Awaited<ReturnType<typeof syncCampaignFields>>;
	try {
		columns = await syncColumns(dv.client, 'contact', { choicesFor: ['gendercode'] });
		campaignFields = await syncCampaignFields(cp.client, 'profile');
	} finally {
		dv.close();
		cp.close();
	}
	const filter = compileFilter({
		rules: rules as Parameters<typeof compileFilter>[0]['rules'],
		combinator: 'and',
		deleteFilteredOut: false,
		columns,
	});
	const replacements = compileReplacements(
		[
			{ field: 'gendercode', existingValue: '1', newValue: 'male' },
			{ field: 'gendercode', existingValue: '2', newValue: 'female' },
		],
		{ columns },
	);
	const mappingNode = templateNode('Contacts: Apply Field Mapping').parameters;
	const mapping = compileMapping(
		{
			dynamicsTable: 'contact',
			dynamicsKey: 'contactid',
			campaignResource: 'profile',
			campaignKey: 'externalId',
			fields: ((mappingNode.fieldMappings as IDataObject).mapping as IDataObject[]).map((m) => ({
				dynamicsField: String(m.dynamicsField),
				campaignField: String(m.campaignField),
				applyUpdates: true,
			})),
			useTechnicalValues: false,
			applyDeletes: true,
		},
		columns,
		campaignFields,
	);
	return (input) => {
		const out: SyncRecord[] = [];
		for (const record of input) {
			const passed = filter.apply(record);
			if (passed.kind === 'drop') continue;
			const result = mapping.apply(replacements.apply(passed.record));
			if (!result.ok) throw new Error(result.error.message);
			out.push(result.record);
		}
		return out;
	};
}
