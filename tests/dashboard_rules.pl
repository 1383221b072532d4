#!/usr/bin/perl
# dashboard_rules.pl - the PromQL queries of a Grafana dashboard JSON as a
# Prometheus rules file on stdout, for `promtool check rules`: decoding
# checks the JSON, promtool parses every query. Grafana's $__rate_interval
# becomes 5m and $instance matches anything. Dies on bad JSON or no query.
use strict;
use warnings;
use JSON::PP;

local $/;
open(my $f, '<', $ARGV[0]) or die "$ARGV[0]: $!\n";
my $d = decode_json(<$f>);
print "groups:\n- name: dashboard\n  rules:\n";
my $i = 0;
for my $p (@{$d->{panels}}) {
    for my $t (@{$p->{targets} || []}) {
        my $e = $t->{expr};
        $e =~ s/\$__rate_interval/5m/g;
        $e =~ s/\$instance/.*/g;
        $e =~ s/'/''/g;
        $i++;
        print "  - record: dashboard:expr$i\n    expr: '$e'\n";
    }
}
die "$ARGV[0]: no queries\n" if $i == 0;
