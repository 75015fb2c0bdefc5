"""The leak-check log: each run of the check, and each opening of rating without a current one (issue 8.4)."""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0002_held_out_queries'),
        ('rating', '0004_item_clock_from_claim'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LeakCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('run', 'Leak check run'), ('opened-anyway', 'Rating opened without a current leak check')], default='run', max_length=20)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('answers', models.PositiveIntegerField(help_text='Finished answers at the time.')),
                ('answers_written_at', models.DateTimeField(blank=True, help_text='When the newest of those answers was written.', null=True)),
                ('flagged', models.PositiveIntegerField(default=0, help_text='Answers the run flagged.')),
                ('by', models.ForeignKey(blank=True, help_text='Empty when a command ran it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='leak_checks', to='experiments.experiment')),
            ],
            options={
                'ordering': ['-at', '-pk'],
            },
        ),
    ]
