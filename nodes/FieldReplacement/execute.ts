import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { compileReplacements, type Replacement } from '../../lib/sync/replacement';
import { dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { passedOn, readSyncInput, recordItem } from '../shared/items';
import { checkedAgainstFreshMetadata, syncColumns } from '../../lib/flows/metadata';
import { locatorValue } from '../../lib/flows/settings';
import { checkTable, tableParameter } from '../shared/table';

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = readSyncInput(this);
	const { records } = input;
	const table = tableParameter(this);
	const rows = ((this.getNodeParameter('replacements', 0, {}) as IDataObject).replacement ??
		[]) as IDataObject[];
	checkTable(this, table, records);

	const rules: Replacement[] = rows.map((row) => ({
		field: String(row.field ?? ''),
		existingValue: locatorValue(row.existingValue),
		newValue: row.newValue,
	}));
	let replacements;
	try {
		if (rules.length) {
			const client = await dataverseClient(this);
			// The choices of the replaced fields give a new value its label.
			const choicesFor = rules.map((r) => r.field);
			replacements = await checkedAgainstFreshMetadata([client], async () =>
				compileReplacements(rules, {
					columns: await syncColumns(client, table, { choicesFor, records }),
				}),
			);
		} else {
			replacements = compileReplacements(rules);
		}
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	let replaced = 0;
	const out = records.map(({ record, index }) => {
		const result = replacements.apply(record);
		if (result !== record) replaced++;
		return recordItem(result, index);
	});
	out.push(...passedOn(input, { replaced }));
	return [out];
}
