import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	applyFieldMapping,
	fieldMappingSettings,
	MAPPING_LOCK,
	TABLE_CLAIMS,
	type StillClaims,
} from '../../lib/flows/field-mapping';
import { loadState, saveState } from '../../lib/state/store';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { passedOn, readSyncInput, recordItem } from '../shared/items';
import { locatorValue } from '../../lib/flows/settings';
import { checkTable, tableParameter } from '../shared/table';

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = readSyncInput(this);
	const { records } = input;
	const table = tableParameter(this);
	checkTable(this, table, records);
	const settings = fieldMappingSettings(table, this.getNode().name, (name, fallback, locator) =>
		this.getNodeParameter(name, 0, fallback, { extractValue: locator === true }),
	);
	const nodeData = this.getWorkflowStaticData('node');
	const workflowData = this.getWorkflowStaticData('global');
	const stillClaims: StillClaims = (owner, parameter, value) => {
		try {
			// evaluateExpression adds the leading "=" itself: one more would end up in the value.
			const current = this.evaluateExpression(
				`{{ $(${JSON.stringify(owner)}).params[${JSON.stringify(parameter)}] }}`,
				0,
			);
			// A resource locator, or the plain name of a workflow written before the locators.
			return locatorValue(current) === value;
		} catch {
			return false; // the node was deleted or renamed: its claim is stale
		}
	};

	let mapped;
	try {
		const clients = {
			dataverse: await dataverseClient(this),
			campaign: await campaignClient(this),
		};
		const prior = {
			lock: loadState(nodeData, MAPPING_LOCK),
			claims: loadState(workflowData, TABLE_CLAIMS),
		};
		mapped = await applyFieldMapping(
			clients,
			records.map((r) => r.record),
			settings,
			prior,
			stillClaims,
		);
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
	saveState(workflowData, TABLE_CLAIMS, mapped.state.claims);
	saveState(nodeData, MAPPING_LOCK, mapped.state.lock);

	const out = mapped.records.map((record, i) => recordItem(record, records[i].index));
	out.push(...passedOn(input, { mappingFailed: mapped.failed }));
	return [out];
}
