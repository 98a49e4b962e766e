// Runs the checks of n8n's scanner (@n8n/scan-community-package) on a local folder and prints the
// result as JSON: `node test/support/scan-package.mjs <folder> source|tarball`. The scanner's command
// line only scans a version published on the public registry (it first checks npm provenance);
// these are its exported checks, with the file sets it uses on the attested source checkout and on
// the unpacked tarball. An ES module because the scanner is one.
import path from 'path';

import {
	analyzePackage,
	SOURCE_FILE_PATTERNS,
} from '@n8n/scan-community-package/scanner/scanner.mjs';

const TARBALL_FILE_PATTERNS = ['**/*.js', 'package.json'];

const [folder, scope] = process.argv.slice(2);
if (!folder || !['source', 'tarball'].includes(scope)) {
	console.error('usage: node scan-package.mjs <folder> source|tarball');
	process.exit(2);
}
const patterns = scope === 'source' ? SOURCE_FILE_PATTERNS : TARBALL_FILE_PATTERNS;
const result = await analyzePackage(path.resolve(folder), patterns);
console.log(
	JSON.stringify({
		passed: result.passed,
		message: result.message,
		details: result.details,
		patterns,
	}),
);
