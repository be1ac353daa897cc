# Driver for the interop tests: Mail::DKIM signs or verifies the messages
# it is given. Keys come from the test's DNS server on loopback (Net::DNS
# pointed at it), so nothing leaves the machine.
#
#   maildkim_driver.pl verify ns-ip ns-port msg...  -> "<file> <result>..." per message
#   maildkim_driver.pl sign spec...                 -> writes <out> per spec
#     spec = in|out|keyfile|selector|domain|method
use strict;
use warnings;
use File::Basename;
use Mail::DKIM::Verifier;
use Mail::DKIM::Signer;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

sub feed {
    my ($obj, $path) = @_;
    open(my $fh, '<', $path) or die "$path: $!";
    binmode $fh;
    my $all = '';
    while (my $line = <$fh>) {
        $line =~ s/\r?\n\z/\r\n/;
        $obj->PRINT($line);
        $all .= $line;
    }
    close $fh;
    $obj->CLOSE;
    return $all;
}

my $mode = shift @ARGV;
if ($mode eq 'verify') {
    my ($ns, $port) = (shift @ARGV, shift @ARGV);
    my $res = Net::DNS::Resolver->new(nameservers => [$ns], port => $port, recurse => 1,
        udp_timeout => 5, tcp_timeout => 5, retry => 1);
    Mail::DKIM::DNS::resolver($res);
    for my $path (@ARGV) {
        my $v = Mail::DKIM::Verifier->new();
        feed($v, $path);
        my @r = map { $_->result . (($_->result_detail // '') =~ /\((.*)\)/ ? "($1)" : '') } $v->signatures;
        print basename($path), ' ', join(' ', @r), "\n";
    }
} elsif ($mode eq 'sign') {
    for my $spec (@ARGV) {
        my ($in, $out, $keyfile, $sel, $dom, $method) = split /\|/, $spec;
        my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256', Method => $method,
            Domain => $dom, Selector => $sel, KeyFile => $keyfile);
        my $msg = feed($s, $in);
        open(my $fh, '>', $out) or die "$out: $!";
        binmode $fh;
        print $fh $s->signature->as_string, "\r\n", $msg;
        close $fh;
    }
} else {
    die "unknown mode $mode";
}
