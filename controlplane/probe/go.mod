// k8ssec-probe: the small static program inside pytest-k8ssec's local
// images (pod sandbox process, connection server and client). Standard
// library plus golang.org/x/sys for SCTP; see main.go and ../README.md.
module github.com/pytest-k8ssec/controlplane/probe

go 1.26.0

require golang.org/x/sys v0.47.0
