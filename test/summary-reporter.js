/**
 * Prints the one closing line CI reads: "N passed, N failed", summed over
 * every suite. A suite that fails to load counts as a failure.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed\n`);
  }
}

module.exports = SummaryReporter;
