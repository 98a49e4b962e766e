import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { compileReplacements, type Replacement } from '../../lib/sync/replacement';
import { dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { passedOn, readSyncInput, recordItem } from '../shared/items';
import { checkedAgainstFreshMetadata, syncColumns } from '../shared/metadata';
import { checkTable } from '../shared/table';

/** A resource locator's value, or a plain value (workflows written by hand or by expressions). */
function locatorValue(value: unknown): unknown {
	if (value !== null && typeof value === 'object' && 'value' in value) {
		return (value as { value: unknown }).value;
	}
	return value;
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = readSyncInput(this);
	const { records } = input;
	const table = this.getNodeParameter('table', 0) as string;
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
