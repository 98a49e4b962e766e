/**
 * How SQL Server orders `uniqueidentifier` values, which is how Dataverse orders and compares
 * GUID columns (primary keys in `$orderby`, `gt`/`lt` in `$filter`).
 *
 * Microsoft documents that SQL Server does not compare the bit pattern left to right: the last six
 * bytes are the most significant ("Comparing GUID and uniqueidentifier Values", dotnet/docs
 * docs/framework/data/adonet/sql/comparing-guid-and-uniqueidentifier-values.md). `SqlGuid`, which
 * implements that behaviour, compares the bytes of `Guid.ToByteArray()` in the order
 * 10-15, 8-9, 6-7, 4-5, 0-3 (dotnet/runtime SQLGuid.cs). In `ToByteArray()` the first three groups
 * of the text form are little-endian and the last two are as written, so in terms of the text
 * `aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee` the order of significance is: e (as written), d (as
 * written), c (bytes swapped), b (bytes swapped), a (bytes reversed).
 */

const GUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

function reverseBytes(hex: string): string {
	let out = '';
	for (let i = hex.length - 2; i >= 0; i -= 2) out += hex.slice(i, i + 2);
	return out;
}

/**
 * A string whose plain ordering is SQL Server's `uniqueidentifier` ordering. Anything that is not
 * a GUID comes back lower-cased, so it still compares equal to itself.
 */
export function sqlGuidKey(value: string): string {
	const lower = value.toLowerCase();
	const m = GUID.exec(lower);
	if (!m) return lower;
	return m[5] + m[4] + reverseBytes(m[3]) + reverseBytes(m[2]) + reverseBytes(m[1]);
}

/** -1, 0 or 1 as SQL Server orders two GUIDs. */
export function compareSqlGuids(a: string, b: string): number {
	const x = sqlGuidKey(a);
	const y = sqlGuidKey(b);
	return x < y ? -1 : x > y ? 1 : 0;
}
