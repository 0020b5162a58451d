"""What a run reports: pytest reports (summary, JUnit properties), the network page, recorded helper results."""
