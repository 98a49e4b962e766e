import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { compileFilter, type FilterCombinator, type FilterRule } from '../../lib/sync/filter';
import { dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { passedOn, readSyncInput, recordItem } from '../shared/items';
import { checkedAgainstFreshMetadata, syncColumns } from '../../lib/flows/metadata';
import { checkTable, tableParameter } from '../shared/table';

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = readSyncInput(this);
	const { records } = input;
	const table = tableParameter(this);
	const rules = ((this.getNodeParameter('rules', 0, {}) as IDataObject).rule ?? []) as FilterRule[];
	const combinator = this.getNodeParameter('combinator', 0, 'and') as FilterCombinator;
	const deleteFilteredOut = this.getNodeParameter('deleteFilteredOut', 0, false) as boolean;
	checkTable(this, table, records);

	let filter;
	try {
		// Rules are checked against the table's columns before any record moves.
		if (rules.length) {
			const client = await dataverseClient(this);
			filter = await checkedAgainstFreshMetadata([client], async () =>
				compileFilter({
					rules,
					combinator,
					deleteFilteredOut,
					columns: await syncColumns(client, table),
				}),
			);
		} else {
			filter = compileFilter({ rules, combinator, deleteFilteredOut });
		}
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	const out: INodeExecutionData[] = [];
	let filteredOut = 0;
	let deletedInCampaign = 0;
	for (const { record, index } of records) {
		const outcome = filter.apply(record);
		if (outcome.kind === 'drop') {
			filteredOut++;
			continue;
		}
		if (outcome.kind === 'delete') {
			filteredOut++;
			deletedInCampaign++;
		}
		out.push(recordItem(outcome.record, index));
	}
	out.push(...passedOn(input, { filteredOut, filteredOutToDelete: deletedInCampaign }));
	return [out];
}
